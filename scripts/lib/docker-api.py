# swarmlab: the Docker engine's API over its unix socket, for the Python run on the guests
# (verify's gather, the swarm labs' waiter), so that one process asks what several runs of the
# docker CLI would (each run of that Go program costs about a second of an emulated CPU). The
# scripts that use it come after it in the same program text. Python 2.7 (CentOS 7) and 3.x;
# standard library only. SWL_DOCKER_SOCK names the socket, SWL_TIMEOUT bounds each request.
import calendar
import json
import os
import socket
import time
from collections import OrderedDict

try:
    from urllib.parse import quote
except ImportError:  # Python 2
    from urllib import quote

SOCK = os.environ.get("SWL_DOCKER_SOCK", "/var/run/docker.sock")
TIMEOUT = float(os.environ.get("SWL_TIMEOUT", "60"))


class ApiError(Exception):
    """A request that did not give what was asked: rc as the CLI would exit, message as its stderr."""

    def __init__(self, rc, message):
        Exception.__init__(self, message)
        self.rc = rc
        self.message = message


hung = [None]


def request(method, path, body=None):
    """One HTTP/1.0 request on a fresh connection: (status, headers text, body bytes)."""
    if hung[0]:
        raise ApiError(124, "not asked: the Docker engine did not answer %s" % hung[0])
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    try:
        try:
            s.connect(SOCK)
        except socket.timeout:
            hung[0] = "a connection within %d s" % TIMEOUT
            raise ApiError(124, "the Docker engine did not accept a connection on %s within %d s" % (SOCK, TIMEOUT))
        except socket.error as e:
            if getattr(e, "errno", None) == 13:
                raise ApiError(1, "permission denied while trying to connect to the Docker daemon socket at unix://%s" % SOCK)
            raise ApiError(1, "Cannot connect to the Docker daemon at unix://%s. Is the docker daemon running? (%s)" % (SOCK, e))
        data = json.dumps(body).encode("utf-8") if body is not None else b""
        head = "%s %s HTTP/1.0\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (method, path, len(data))
        chunks = []
        try:
            s.sendall(head.encode("ascii") + data)
            while True:
                c = s.recv(65536)
                if not c:
                    break
                chunks.append(c)
        except socket.timeout:
            hung[0] = "%s %s within %d s" % (method, path.split("?")[0], TIMEOUT)
            raise ApiError(124, "the Docker engine did not answer %s %s within %d s" % (method, path.split("?")[0], TIMEOUT))
    finally:
        s.close()
    raw = b"".join(chunks)
    headers, sep, payload = raw.partition(b"\r\n\r\n")
    if not sep:
        raise ApiError(1, "the Docker engine's answer to %s %s was cut off" % (method, path))
    headers = headers.decode("latin-1")
    parts = headers.split("\r\n", 1)[0].split(" ")
    try:
        status = int(parts[1])
    except (IndexError, ValueError):
        raise ApiError(1, "the Docker engine answered %s %s with %r" % (method, path, headers[:80]))
    if "transfer-encoding: chunked" in headers.lower():
        payload = dechunk(payload)
    return status, headers, payload


def dechunk(payload):
    out = []
    while payload:
        size_line, _, rest = payload.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out.append(rest[:size])
        payload = rest[size + 2:]
    return b"".join(out)


def api(method, path, body=None, ok=(200,)):
    """The JSON an API call answered, or ApiError with the engine's message as the CLI prints it."""
    status, _, payload = request(method, path, body)
    if status not in ok:
        message = payload.decode("utf-8", "replace").strip()
        try:
            message = json.loads(message).get("message", message)
        except ValueError:
            pass
        raise ApiError(1, "Error response from daemon: %s" % message)
    return json.loads(payload.decode("utf-8"), object_pairs_hook=OrderedDict)


def dumps(value, **kw):
    return json.dumps(value, separators=(",", ":"), **kw)


def pick(obj, *path):
    for p in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(p)
    return obj


def pretty(word):
    """The CLI's PrettyPrint: "running" -> "Running"."""
    word = word or ""
    return word[:1].upper() + word[1:]


def parse_time(stamp):
    """RFC 3339 (nanoseconds, Z) -> seconds since the epoch; None if it is not one."""
    try:
        base = stamp[:19]
        return calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    except (TypeError, ValueError):
        return None


def human_duration(seconds):
    """go-units' HumanDuration, which the CLI prints in lower case after a task's state."""
    seconds = int(seconds)
    if seconds < 1:
        return "Less than a second"
    if seconds == 1:
        return "1 second"
    if seconds < 60:
        return "%d seconds" % seconds
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return "%d minutes" % minutes
    hours = int(seconds / 3600.0 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return "%d hours" % hours
    if hours < 24 * 7 * 2:
        return "%d days" % (hours / 24)
    if hours < 24 * 30 * 2:
        return "%d weeks" % (hours / 24 / 7)
    if hours < 24 * 365 * 2:
        return "%d months" % (hours / 24 / 30)
    return "%d years" % (hours / 24 / 365)


def task_row(service_name, t, node_names, now):
    """A task as `docker service ps --format '{{json .}}'` prints it; node_names maps node IDs to hostnames."""
    slot = t.get("Slot") or 0
    stamp = parse_time(pick(t, "Status", "Timestamp"))
    since = human_duration(max(0, now - stamp)).lower() if stamp is not None else "unknown"
    err = pick(t, "Status", "Err") or ""
    return {
        "CurrentState": "%s %s ago" % (pretty(pick(t, "Status", "State")), since),
        "DesiredState": pretty(t.get("DesiredState")),
        "Error": '"%s"' % err if err else "",
        "ID": t.get("ID"),
        "Image": pick(t, "Spec", "ContainerSpec", "Image") or "",
        "Name": "%s.%s" % (service_name, slot if slot else t.get("NodeID")),
        "Node": node_names.get(t.get("NodeID"), t.get("NodeID") or ""),
        "Ports": "",
    }
