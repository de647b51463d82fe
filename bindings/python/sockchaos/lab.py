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
from __future__ import annotations

import contextlib
import json
from typing import Any, Dict, Iterator, List, Literal, Mapping, Optional, Union

from . import _sockchaos

__all__ = ["Lab", "Fault", "Host", "SysctlValue", "Sysctls"]

_HOSTS = ("client", "server")

Host = str
"""A host name of the lab: "client" or "server"."""

SysctlValue = Union[int, str]
"""A sysctl's value: a whole number or a one-line string ("4096 131072 6291456")."""

Sysctls = Mapping[str, Union[SysctlValue, Mapping[str, SysctlValue]]]
"""Lab(sysctl=...): {key: value} for the client host, or {"client": {...}, "server": {...}}."""


def _hosts_document(sysctl: Optional[Sysctls]) -> Dict[str, Dict[str, Any]]:
    if sysctl is None:
        sysctl = {}
    if not isinstance(sysctl, Mapping):
        raise TypeError("sysctl: expected a dict like {\"net.ipv4.tcp_retries2\": 5} or "
                        "{\"client\": {...}, \"server\": {...}}; got " + type(sysctl).__name__)
    per_host: Mapping[str, Any]
    if sysctl and all(k in _HOSTS for k in sysctl):
        per_host = sysctl
    else:
        per_host = {"client": sysctl}
    hosts: Dict[str, Dict[str, Any]] = {}
    for name in _HOSTS:
        values = per_host.get(name) or {}
        hosts[name] = {"sysctl": dict(values) if isinstance(values, Mapping) else values} if values else {}
    return hosts


class Fault:
    """An installed fault. installed_at / healed_at are time.monotonic() seconds
    (CLOCK_MONOTONIC), taken where a scenario cell takes them: right after the first rule
    commit for packet faults, right before the signal or link change otherwise."""

    def __init__(self, lab: Lab, fault_id: int, installed_ns: int, label: str) -> None:
        self._lab = lab
        self._id = fault_id
        self.installed_at: float = installed_ns / 1e9
        self.healed_at: Optional[float] = None
        self.label: str = label

    @property
    def active(self) -> bool:
        return self.healed_at is None and not self._lab.closed

    def heal(self) -> Optional[float]:
        """Removes the fault (rules deleted, SIGCONT after pause, link up with its routes).
        Healing twice, or after the lab closed, does nothing. Returns healed_at."""
        if self.healed_at is None and not self._lab.closed:
            ns = self._lab._core().heal_fault(self._id)
            if ns >= 0:
                self.healed_at = ns / 1e9
        return self.healed_at

    def __enter__(self) -> Fault:
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        self.heal()
        return False

    def __repr__(self) -> str:
        return "<sockchaos.Fault %s installed_at=%.3f%s>" % (
            self.label, self.installed_at, "" if self.healed_at is None else " healed")


class Lab:
    """A client host and a server host; see the module documentation. Use it as a context
    manager (or call close()): everything is torn down on exit, on exceptions and on Ctrl-C."""

    def __init__(self, sysctl: Optional[Sysctls] = None) -> None:
        from . import agent_path
        self._agent = agent_path()
        self._lab: Optional[_sockchaos.Lab] = None
        self._lab = _sockchaos.Lab(json.dumps(_hosts_document(sysctl)), self._agent)
        self.faults: List[Fault] = []

    def _core(self) -> _sockchaos.Lab:
        if self._lab is None or self._lab.closed():
            raise RuntimeError("the lab is closed")
        return self._lab

    @property
    def closed(self) -> bool:
        return self._lab is None or self._lab.closed()

    @property
    def hosts(self) -> List[Host]:
        return list(self._core().hosts())

    def server(self, port: int, behavior: str = "sink", socket: Optional[Mapping[str, Any]] = None,
               **options: Any) -> Lab:
        """Starts a server agent on the server host, listening on `port` on every address, and
        returns once it listens. behavior and socket options as in a scenario's "server"
        (echo, sink, stall, hold, respond; other keys such as close="after-response" or
        response="..." go in **options). behavior="command" with command=[argv...] runs your
        own server program instead ({port}, {server}, {dir} = the current directory and
        {tmp} = a scratch directory of the lab are expanded; never through a shell) and
        returns once its port listens (at most 10 s)."""
        from . import _check_agent
        spec: Dict[str, Any] = {"port": port, "behavior": behavior}
        if socket is not None:
            spec["socket"] = dict(socket) if isinstance(socket, Mapping) else socket
        spec.update(options)
        _check_agent(self._agent)
        self._core().start_server(json.dumps(spec))
        return self

    def address(self, host: Host = "server") -> str:
        """The host's IPv4 address (198.18.0.0/15) as a string."""
        return self._core().address(host)

    @contextlib.contextmanager
    def inside(self, host: Host = "client") -> Iterator[Lab]:
        """Moves the calling thread into the host's network namespace for the block: sockets it
        creates there live in that host. The thread's namespace is restored on exit, also when
        the block raises."""
        scope = _sockchaos.NetnsScope()
        scope.enter(self._core().netns_fd(host))
        try:
            yield self
        finally:
            scope.exit()

    def fault(self, kind: str, on: Host = "server", **params: Any) -> Fault:
        """Installs a fault now; returns a Fault handle (installed_at, heal()). Kinds and
        parameters as scenario faults: blackhole / drop (probability) / reject (with_ or
        **{"with": ...}) with direction and match; kill / pause (the lab's server agents);
        crash; link-down. Invalid parameters raise ScenarioError naming the JSON Pointer."""
        spec: Dict[str, Any] = {"kind": kind, "on": on}
        for key, value in params.items():
            spec["with" if key == "with_" else key] = value
        fault_id, installed_ns, label = self._core().install_fault(json.dumps(spec))
        handle = Fault(self, fault_id, installed_ns, label)
        self.faults.append(handle)
        return handle

    def sockets(self, host: Host = "client") -> Dict[str, int]:
        """TCP sockets in the host per state, non-zero states only, e.g. {"TIME_WAIT": 50}
        (inet_diag, TIME_WAIT included)."""
        return self._core().sockets(host)

    def server_pids(self) -> List[int]:
        return list(self._core().server_pids())

    def close(self) -> None:
        """Kills the server agents and releases the namespaces, rules and sockets the lab holds.
        Idempotent."""
        if self._lab is not None:
            self._lab.close()

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        self.close()
        return False

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        if self.closed:
            return "<sockchaos.Lab closed>"
        return "<sockchaos.Lab client=%s server=%s>" % (self.address("client"), self.address("server"))

