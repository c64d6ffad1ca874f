# swarmlab verify: the docker half of the gather script, read from the Docker engine's API over
# its unix socket in ONE process, instead of ten runs of the docker CLI (each run of that Go
# program costs about half a second of an emulated CPU; this whole script costs about as much
# as one). It prints the same framed sections, in the same shapes, as the CLI path of
# gather-script.ts: `docker info` and the inspects narrowed to the fields the checks use (never
# a container's or a service's environment), the listings as the CLI's `--format '{{json .}}'`
# rows. It runs after ../docker-api.py (request, api, ApiError and the CLI's ways of printing
# states and times), in one program text. Run by the gather script with SWL_* variables set
# (see gather-script.ts); generated sections go to stdout.
import struct
import sys

MARK = "@@swarmlab:"
SERVICE = os.environ["SWL_SERVICE"]
EXPECT_MANAGER = os.environ.get("SWL_EXPECT_MANAGER") == "1"
TMP = os.environ.get("SWL_TMP", "")
LABELS = ["com.docker.swarm.service.name", "com.docker.swarm.task.id", "com.docker.swarm.task.name", "com.docker.swarm.node.id"]
OUT = getattr(sys.stdout, "buffer", sys.stdout)
count = [0]


def frame(key, body, rc, err, ms):
    """Print one section as the gather script frames it (stdout verbatim, its size, then stderr)."""
    body = body.encode("utf-8") if not isinstance(body, bytes) else body
    out = (MARK + "begin %s\n" % key).encode("utf-8") + body
    if body and not body.endswith(b"\n"):
        out += b"\n"
    out += (MARK + "end %s rc=%d bytes=%d ms=%d\n" % (key, rc, len(body), ms)).encode("utf-8")
    if err:
        # A line of stderr must never pass for a marker.
        e = err[:2000].replace("\n@@", "\n@ @")
        if e.startswith("@@"):
            e = "@ @" + e[2:]
        out += (MARK + "stderr %s\n%s\n" % (key, e.rstrip("\n")) + MARK + "stderr-end %s\n" % key).encode("utf-8")
    OUT.write(out)
    OUT.flush()
    count[0] += 1


def section(key, fn):
    """Run fn and print its result framed: fn returns the section's text, or (text, stderr, rc)."""
    t0 = time.time()
    try:
        got = fn()
        text, err, rc = got if isinstance(got, tuple) else (got, "", 0)
    except ApiError as e:
        text, err, rc = "", e.message, e.rc
    except Exception as e:  # a bug here must cost one section, not the others
        text, err, rc = "", "internal error of the gather's API client: %s: %s" % (type(e).__name__, e), 70
    frame(key, text, rc, err, int((time.time() - t0) * 1000))
    return rc == 0


state = {}


def info_section():
    info = api("GET", "/info")
    state["info"] = info
    out = OrderedDict()
    for k in ("Name", "ServerVersion", "OperatingSystem", "KernelVersion", "Swarm"):
        out[k] = info.get(k)
    return dumps(out) + "\n"


def node_rows():
    nodes = api("GET", "/nodes")
    self_id = pick(state.get("info"), "Swarm", "NodeID")
    state["node_names"] = dict((n.get("ID"), pick(n, "Description", "Hostname") or n.get("ID")) for n in nodes)
    lines = []
    # As the CLI lists them: by hostname.
    for n in sorted(nodes, key=lambda n: pick(n, "Description", "Hostname") or ""):
        ms = n.get("ManagerStatus")
        if not ms:
            manager = ""
        elif ms.get("Leader"):
            manager = "Leader"
        else:
            manager = pretty(ms.get("Reachability"))
        row = {
            "Availability": pretty(pick(n, "Spec", "Availability")),
            "EngineVersion": pick(n, "Description", "Engine", "EngineVersion") or "",
            "Hostname": pick(n, "Description", "Hostname") or "",
            "ID": n.get("ID"),
            "ManagerStatus": manager,
            "Self": n.get("ID") == self_id,
            "Status": pretty(pick(n, "Status", "State")),
        }
        lines.append(dumps(row, sort_keys=True))
    return "".join(l + "\n" for l in lines)


def service_lookup():
    """GET /services/<name>, or the CLI's "no such service" (the model reads that as: not created)."""
    if "service" not in state:
        try:
            state["service"] = api("GET", "/services/%s" % quote(SERVICE, safe=""))
        except ApiError as e:
            if "not found" in e.message:
                raise ApiError(1, "no such service: %s" % SERVICE)
            raise
    return state["service"]


def service_inspect():
    svc = service_lookup()
    spec = svc.get("Spec") or {}
    tt = spec.get("TaskTemplate") or {}
    cs = tt.get("ContainerSpec") or {}
    out = OrderedDict()
    out["ID"] = svc.get("ID")
    s = OrderedDict()
    s["Name"] = spec.get("Name")
    s["Mode"] = spec.get("Mode")
    t = OrderedDict()
    c = OrderedDict()
    c["Image"] = cs.get("Image")
    c["Command"] = cs.get("Command")
    c["Args"] = cs.get("Args")
    t["ContainerSpec"] = c
    t["Networks"] = tt.get("Networks")
    s["TaskTemplate"] = t
    s["Networks"] = spec.get("Networks")
    out["Spec"] = s
    e = OrderedDict()
    e["VirtualIPs"] = pick(svc, "Endpoint", "VirtualIPs")
    out["Endpoint"] = e
    return dumps(out) + "\n"


def service_ps():
    svc = service_lookup()
    name = pick(svc, "Spec", "Name") or SERVICE
    tasks = api("GET", "/tasks?filters=%s" % quote(dumps({"service": [svc.get("ID")]}), safe=""))
    names = state.get("node_names", {})
    now = time.time()
    rows = []
    for t in tasks:
        row = task_row(name, t, names, now)
        rows.append((row["Name"], t.get("CreatedAt") or "", row))
    # As the CLI lists them: by task name, the newest task of a slot first.
    rows.sort(key=lambda r: r[1], reverse=True)
    rows.sort(key=lambda r: r[0])
    return "".join(dumps(r[2], sort_keys=True) + "\n" for r in rows)


def network_ids():
    nets = api("GET", "/networks")
    # As `docker network ls` lists them: by name.
    state["network_ids"] = [n.get("Id") for n in sorted(nets, key=lambda n: n.get("Name") or "") if n.get("Id")]
    return "".join(i + "\n" for i in state["network_ids"])


def network_inspect():
    nets = [api("GET", "/networks/%s" % i) for i in state.get("network_ids", [])]
    return json.dumps(nets, indent=4, separators=(",", ": ")) + "\n"


def container_ids():
    cs = api("GET", "/containers/json")
    state["container_ids"] = [c.get("Id") for c in cs if c.get("Id")]
    return "".join(i + "\n" for i in state["container_ids"])


def container_inspect():
    lines = []
    tasks = []
    for cid in state.get("container_ids", []):
        c = api("GET", "/containers/%s/json" % cid)
        cfg = c.get("Config") or {}
        labels = cfg.get("Labels") or {}
        out = OrderedDict()
        out["Id"] = c.get("Id")
        out["Name"] = c.get("Name")
        oc = OrderedDict()
        oc["Image"] = cfg.get("Image")
        ol = OrderedDict()
        for l in LABELS:
            ol[l] = labels.get(l, "")
        oc["Labels"] = ol
        out["Config"] = oc
        out["State"] = OrderedDict([("Running", pick(c, "State", "Running"))])
        ns = OrderedDict()
        ns["SandboxKey"] = pick(c, "NetworkSettings", "SandboxKey")
        ns["Networks"] = pick(c, "NetworkSettings", "Networks")
        out["NetworkSettings"] = ns
        lines.append(dumps(out))
        if SERVICE and labels.get("com.docker.swarm.service.name") == SERVICE and pick(c, "State", "Running") is True:
            tasks.append(c.get("Id"))
    state["tasks"] = tasks
    return "".join(l + "\n" for l in lines)


def run_exec(cid, cmd):
    """docker exec, as the CLI does it: create, start attached, read the exit code. (stdout, stderr, rc)"""
    created = api("POST", "/containers/%s/exec" % cid, {"AttachStdout": True, "AttachStderr": True, "Cmd": cmd}, ok=(200, 201))
    eid = created.get("Id")
    status, headers, payload = request("POST", "/exec/%s/start" % eid, {"Detach": False, "Tty": False})
    if status != 200:
        raise ApiError(1, "Error response from daemon: %s" % payload.decode("utf-8", "replace").strip())
    streams = {1: [], 2: []}
    i = 0
    if "multiplexed-stream" in headers or "raw-stream" in headers:
        while i + 8 <= len(payload):
            kind, size = struct.unpack(">BxxxL", payload[i:i + 8])
            streams.setdefault(kind, []).append(payload[i + 8:i + 8 + size])
            i += 8 + size
    else:
        streams[1].append(payload)
    # The stream ends as the command does; its exit code can take a moment to be recorded.
    for _ in range(20):
        result = api("GET", "/exec/%s/json" % eid)
        if not result.get("Running"):
            break
        time.sleep(0.05)
    rc = result.get("ExitCode")
    return b"".join(streams[1]).decode("utf-8", "replace"), b"".join(streams[2]).decode("utf-8", "replace"), rc if isinstance(rc, int) else 1


SPLIT = "@@swl-split rc="


def exec_sections(cid):
    """The task's own view: ip addr and ip route from ONE exec (two where the image has no sh)."""
    t0 = time.time()
    try:
        out, err, rc = run_exec(cid, ["sh", "-c", 'ip addr show; echo "%s$?"; ip route show' % SPLIT])
        if SPLIT not in out:
            a_out, a_err, a_rc = run_exec(cid, ["ip", "addr", "show"])
            r_out, r_err, r_rc = run_exec(cid, ["ip", "route", "show"])
            got = {"addr": (a_out, a_err + r_err, a_rc), "route": (r_out, a_err + r_err, r_rc)}
        else:
            before, _, after = out.partition(SPLIT)
            rc_text, _, after = after.partition("\n")
            got = {"addr": (before, err, int(rc_text) if rc_text.isdigit() else 1), "route": (after, err, rc)}
    except ApiError as e:
        got = {"addr": ("", e.message, e.rc), "route": ("", e.message, e.rc)}
    ms = int((time.time() - t0) * 1000)
    for which in ("addr", "route"):
        text, err, rc = got[which]
        frame("exec-ip-%s/%s" % (which, cid), text, rc, err, ms)


def main():
    section("docker-info", info_section)
    manager = pick(state.get("info"), "Swarm", "ControlAvailable") is True
    if TMP:
        with open(os.path.join(TMP, "is_manager"), "w") as f:
            f.write("1\n" if manager else "0\n")
    if manager:
        section("docker-node-ls", node_rows)
        if SERVICE:
            section("docker-service-ps", service_ps)
            section("docker-service-inspect", service_inspect)
    if section("docker-network-ids", network_ids):
        section("docker-network-inspect", network_inspect)
    if section("docker-container-ids", container_ids) and section("docker-inspect", container_inspect):
        for cid in state.get("tasks", []):
            exec_sections(cid)
    if TMP:
        with open(os.path.join(TMP, "api-count"), "w") as f:
            f.write("%d\n" % count[0])


main()
