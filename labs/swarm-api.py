# swarmlab: what the swarm labs' scripts on the manager ask the Docker engine, in ONE process
# that reads its API (../scripts/lib/docker-api.py comes before it in the same program text),
# where the CLI path runs the docker CLI again and again (about a second of the manager's one
# emulated CPU each run, taken from the engine that is starting the tasks). SWL_MODE says what:
#
# look: what is there before the workload builds, one line each:
#   other KIND ID                      a service, container or network labelled SWL_LABEL by
#                                      another lab than SWL_LAB (KIND: service, container, network)
#   network yes SUBNETS                SWL_OVERLAY exists, with these subnets (run together)
#   service yes IMAGE                  SWL_SERVICE exists, with this image
#
# wait: waits until every node in SWL_NODES is Ready, then, with SWL_SERVICE set, until
# SWL_REPLICAS tasks run spread over SWL_SPREAD nodes, and then reads what the overlay check
# needs. Until SWL_DEADLINE (seconds since the epoch; SWL_WAIT_SEC before it is when the wait
# started) it asks once a second and takes an engine that does not answer for one still starting:
#   ready SECONDS                      every node Ready, SECONDS after the start
#   spread SECONDS                     every task running, one per node
#   mine SANDBOX ADDRESS               the task on this host: its namespace, its SWL_OVERLAY address
#   peer ADDRESS                       each running task's address on SWL_OVERLAY
#   task NAME NODE STATE...            the running tasks as `docker service ps` shows them
# On timeout it exits 1 with the reason on its last line of stderr.
import sys

MODE = os.environ.get("SWL_MODE", "wait")
LAB_LABEL = os.environ.get("SWL_LABEL", "")
LAB = os.environ.get("SWL_LAB", "")
NODES = os.environ.get("SWL_NODES", "").split()
WAIT_SERVICE = os.environ.get("SWL_SERVICE", "")
REPLICAS = int(os.environ.get("SWL_REPLICAS", "0") or 0)
SPREAD = int(os.environ.get("SWL_SPREAD", "0") or 0)
OVERLAY = os.environ.get("SWL_OVERLAY", "")
DEADLINE = float(os.environ.get("SWL_DEADLINE", "0"))
WAIT_SEC = int(os.environ.get("SWL_WAIT_SEC", "0"))
STARTED = DEADLINE - WAIT_SEC


def say(*words):
    sys.stdout.write(" ".join(str(w) for w in words) + "\n")
    sys.stdout.flush()


def until(what, probe):
    """probe() until it returns a true value; on the deadline, exit saying what() (and the last error)."""
    last = ""
    while True:
        try:
            got = probe()
            if got:
                return got
            last = ""
        except (ApiError, ValueError) as e:
            last = " (the engine: %s)" % getattr(e, "message", e)
            hung[0] = None
        if time.time() >= DEADLINE:
            sys.stderr.write("%s after %ds%s\n" % (what(), WAIT_SEC, last))
            sys.exit(1)
        time.sleep(1)


def spread_out():
    """The service's tasks meant to run, once REPLICAS of them run on SPREAD nodes; else None."""
    flt = quote(dumps({"service": [WAIT_SERVICE], "desired-state": ["running"]}), safe="")
    tasks = api("GET", "/tasks?filters=%s" % flt)
    running = [t for t in tasks if pick(t, "Status", "State") == "running"]
    if len(running) == REPLICAS and len(set(t.get("NodeID") for t in running)) == SPREAD:
        return tasks
    return None


def look():
    """What another lab left, and whether this lab's overlay and service exist."""
    flt = quote(dumps({"label": [LAB_LABEL]}), safe="")
    for kind, path in (("service", "/services?filters=%s"), ("container", "/containers/json?all=1&filters=%s"), ("network", "/networks?filters=%s")):
        for o in api("GET", path % flt):
            labels = (pick(o, "Spec", "Labels") if kind == "service" else o.get("Labels")) or {}
            if labels.get(LAB_LABEL, LAB) != LAB:
                say("other", kind, o.get("ID") or o.get("Id"))
    for kind, path, read in (
        ("network", "/networks/%s", lambda o: "".join(c.get("Subnet") or "" for c in (pick(o, "IPAM", "Config") or []))),
        ("service", "/services/%s", lambda o: pick(o, "Spec", "TaskTemplate", "ContainerSpec", "Image") or ""),
    ):
        name = OVERLAY if kind == "network" else WAIT_SERVICE
        if not name:
            continue
        status, _, payload = request("GET", path % quote(name, safe=""))
        if status == 200:
            say(kind, "yes", read(json.loads(payload.decode("utf-8"))))
        elif status != 404:
            raise ApiError(1, "the Docker engine answered %d to GET %s" % (status, path % name))


def wait():
    pending = [NODES]
    nodes = []

    def nodes_ready():
        """Every wanted node Ready (the listing kept for the task listing's hostnames)."""
        nodes[:] = api("GET", "/nodes")
        ready = set(pick(n, "Description", "Hostname") for n in nodes if pick(n, "Status", "State") == "ready")
        pending[0] = [n for n in NODES if n not in ready]
        return not pending[0]

    until(lambda: "node(s) %s not Ready" % " ".join(pending[0] or NODES), nodes_ready)
    say("ready", int(time.time() - STARTED))
    if not WAIT_SERVICE:
        return
    tasks = until(lambda: "service %s does not have %d running tasks spread over the nodes" % (WAIT_SERVICE, REPLICAS), spread_out)
    say("spread", int(time.time() - STARTED))
    flt = quote(dumps({"label": ["com.docker.swarm.service.name=%s" % WAIT_SERVICE]}), safe="")
    here = api("GET", "/containers/json?filters=%s" % flt)
    if here:
        c = api("GET", "/containers/%s/json" % here[0].get("Id"))
        sandbox = pick(c, "NetworkSettings", "SandboxKey") or ""
        address = pick(c, "NetworkSettings", "Networks", OVERLAY, "IPAddress") or ""
        if sandbox and address:
            say("mine", sandbox, address)
    for t in tasks:
        for a in t.get("NetworksAttachments") or []:
            if pick(a, "Network", "Spec", "Name") == OVERLAY:
                for addr in a.get("Addresses") or []:
                    say("peer", addr.split("/")[0])
    names = dict((n.get("ID"), pick(n, "Description", "Hostname") or n.get("ID")) for n in nodes)
    now = time.time()
    for r in sorted((task_row(WAIT_SERVICE, t, names, now) for t in tasks), key=lambda r: r["Name"]):
        say("task", r["Name"], r["Node"], r["CurrentState"])


if MODE == "look":
    look()
else:
    wait()
