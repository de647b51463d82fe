"""The Lab: a client host and a server host around your own code.

    with sockchaos.Lab(sysctl={"net.ipv4.tcp_retries2": 5}) as lab:
        lab.server(7000, behavior="sink")
        with lab.inside("client"):
            sock = socket.create_connection((lab.address("server"), 7000))
        fault = lab.fault("blackhole", on="server")
        ...
        fault.heal()

Hosts: "client" and "server", each a network namespace joined by one veth pair, addressed from
198.18.0.0/15. `sysctl` is either a flat {key: value} map, applied to the CLIENT host, or a map
of host name to such a map: {"client": {...}, "server": {...}}. Keys are per-namespace net.*
sysctls, validated like a scenario's `hosts.<name>.sysctl`.

Threads: lab.inside() moves the calling thread only (setns is per thread); the server agents
die with the thread that created them (PR_SET_PDEATHSIG), so create the Lab and its servers on a
thread that outlives their use (the test's own thread does).
"""
import contextlib
import json

from . import _sockchaos

_HOSTS = ("client", "server")


def _hosts_document(sysctl):
    if sysctl is None:
        sysctl = {}
    if not isinstance(sysctl, dict):
        raise TypeError("sysctl: expected a dict like {\"net.ipv4.tcp_retries2\": 5} or "
                        "{\"client\": {...}, \"server\": {...}}; got " + type(sysctl).__name__)
    if sysctl and all(k in _HOSTS for k in sysctl):
        per_host = sysctl
    else:
        per_host = {"client": sysctl}
    hosts = {}
    for name in _HOSTS:
        values = per_host.get(name) or {}
        hosts[name] = {"sysctl": values} if values else {}
    return hosts


class Fault:
    """An installed fault. installed_at / healed_at are time.monotonic() seconds
    (CLOCK_MONOTONIC), taken where a scenario cell takes them: right after the first rule
    commit for packet faults, right before the signal or link change otherwise."""

    def __init__(self, lab, fault_id, installed_ns, label):
        self._lab = lab
        self._id = fault_id
        self.installed_at = installed_ns / 1e9
        self.healed_at = None
        self.label = label

    @property
    def active(self):
        return self.healed_at is None and not self._lab.closed

    def heal(self):
        """Removes the fault (rules deleted, SIGCONT after pause, link up with its routes).
        Healing twice, or after the lab closed, does nothing. Returns healed_at."""
        if self.healed_at is None and not self._lab.closed:
            ns = self._lab._core().heal_fault(self._id)
            if ns >= 0:
                self.healed_at = ns / 1e9
        return self.healed_at

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.heal()
        return False

    def __repr__(self):
        return "<sockchaos.Fault %s installed_at=%.3f%s>" % (
            self.label, self.installed_at, "" if self.healed_at is None else " healed")


class Lab:
    """A client host and a server host; see the module documentation. Use it as a context
    manager (or call close()): everything is torn down on exit, on exceptions and on Ctrl-C."""

    def __init__(self, sysctl=None):
        from . import agent_path
        self._agent = agent_path()
        self._lab = None
        self._lab = _sockchaos.Lab(json.dumps(_hosts_document(sysctl)), self._agent)
        self.faults = []

    def _core(self):
        if self._lab is None or self._lab.closed():
            raise RuntimeError("the lab is closed")
        return self._lab

    @property
    def closed(self):
        return self._lab is None or self._lab.closed()

    @property
    def hosts(self):
        return list(self._core().hosts())

    def server(self, port, behavior="sink", socket=None, **options):
        """Starts a server agent on the server host, listening on `port` on every address, and
        returns once it listens. behavior and socket options as in a scenario's "server"
        (echo, sink, stall, hold, respond; other keys such as close="after-response" or
        response="..." go in **options). behavior="command" with command=[argv...] runs your
        own server program instead ({port}, {server}, {dir} = the current directory and
        {tmp} = a scratch directory of the lab are expanded; never through a shell) and
        returns once its port listens (at most 10 s)."""
        from . import _check_agent
        spec = {"port": port, "behavior": behavior}
        if socket is not None:
            spec["socket"] = socket
        spec.update(options)
        _check_agent(self._agent)
        self._core().start_server(json.dumps(spec))
        return self

    def address(self, host="server"):
        """The host's IPv4 address (198.18.0.0/15) as a string."""
        return self._core().address(host)

    @contextlib.contextmanager
    def inside(self, host="client"):
        """Moves the calling thread into the host's network namespace for the block: sockets it
        creates there live in that host. The thread's namespace is restored on exit, also when
        the block raises."""
        scope = _sockchaos.NetnsScope()
        scope.enter(self._core().netns_fd(host))
        try:
            yield self
        finally:
            scope.exit()

    def fault(self, kind, on="server", **params):
        """Installs a fault now; returns a Fault handle (installed_at, heal()). Kinds and
        parameters as scenario faults: blackhole / drop (probability) / reject (with_ or
        **{"with": ...}) with direction and match; kill / pause (the lab's server agents);
        crash; link-down. Invalid parameters raise ScenarioError naming the JSON Pointer."""
        spec = {"kind": kind, "on": on}
        for key, value in params.items():
            spec["with" if key == "with_" else key] = value
        fault_id, installed_ns, label = self._core().install_fault(json.dumps(spec))
        handle = Fault(self, fault_id, installed_ns, label)
        self.faults.append(handle)
        return handle

    def sockets(self, host="client"):
        """TCP sockets in the host per state, non-zero states only, e.g. {"TIME_WAIT": 50}
        (inet_diag, TIME_WAIT included)."""
        return self._core().sockets(host)

    def server_pids(self):
        return list(self._core().server_pids())

    def close(self):
        """Kills the server agents and releases the namespaces, rules and sockets the lab holds.
        Idempotent."""
        if self._lab is not None:
            self._lab.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self):
        if self.closed:
            return "<sockchaos.Lab closed>"
        return "<sockchaos.Lab client=%s server=%s>" % (self.address("client"), self.address("server"))

