# The Lab: hosts, servers, faults and the census around the test's own sockets.
import errno
import ipaddress
import os
import socket
import subprocess
import sys
import textwrap
import time

import pytest

import sockchaos
from conftest import BUILD_PYTHON_HINT, children_of, net_namespace_fds, require_features

BENCH = ipaddress.ip_network("198.18.0.0/15")


def thread_netns():
    return os.readlink("/proc/thread-self/ns/net")


def echo_roundtrip(lab, port, timeout=2.0):
    with lab.inside("client"):
        with socket.create_connection((lab.address("server"), port), timeout=timeout) as s:
            s.sendall(b"ping")
            return s.recv(16)


def test_hosts_and_addresses(sockchaos_lab):
    lab = sockchaos_lab
    assert lab.hosts == ["client", "server"]
    client, server = lab.address("client"), lab.address("server")
    assert client != server
    assert ipaddress.ip_address(client) in BENCH and ipaddress.ip_address(server) in BENCH
    with pytest.raises(ValueError):
        lab.address("proxy")


def test_inside_moves_only_the_block_and_restores_on_exception(sockchaos_lab):
    lab = sockchaos_lab
    before = thread_netns()
    with lab.inside("client"):
        inside_client = thread_netns()
        assert inside_client != before
        with lab.inside("server"):
            assert thread_netns() not in (before, inside_client)
        assert thread_netns() == inside_client
    assert thread_netns() == before
    with pytest.raises(ZeroDivisionError):
        with lab.inside("client"):
            1 / 0
    assert thread_netns() == before


def test_echo_server_and_sockets_census_matches_ss(sockchaos_lab):
    lab = sockchaos_lab
    lab.server(7100, behavior="echo")
    assert echo_roundtrip(lab, 7100) == b"ping"
    # 20 connections closed by the client first: 20 TIME_WAIT in the client host.
    with lab.inside("client"):
        for _ in range(20):
            with socket.create_connection((lab.address("server"), 7100), timeout=2) as s:
                s.sendall(b"x")
                assert s.recv(1) == b"x"
    counts = {}
    for _ in range(40):  # bounded: the last FINs settle within milliseconds
        counts = lab.sockets("client")
        if counts.get("TIME_WAIT") == 21 and len(counts) == 1:
            break
        time.sleep(0.05)
    assert counts == {"TIME_WAIT": 21}
    # Independent oracle: ss, run inside the client host (a child inherits the thread's namespace).
    with lab.inside("client"):
        out = subprocess.run(["ss", "-Htan", "state", "time-wait"], capture_output=True, text=True, check=True).stdout
    assert len(out.splitlines()) == 21
    assert "TIME_WAIT" not in lab.sockets("server")


def test_reject_fault_then_heal(sockchaos_lab):
    lab = sockchaos_lab
    lab.server(7200, behavior="echo")
    fault = lab.fault("reject", on="server", direction="in", match={"port": 7200})
    assert fault.label == "reject with tcp-reset on server (in)"
    assert 0 <= time.monotonic() - fault.installed_at < 1.0
    with pytest.raises(ConnectionRefusedError):
        echo_roundtrip(lab, 7200)
    fault.heal()
    assert fault.healed_at >= fault.installed_at
    assert echo_roundtrip(lab, 7200) == b"ping"
    assert fault.heal() == fault.healed_at  # healing twice is a no-op


def test_reject_with_icmp(sockchaos_lab):
    lab = sockchaos_lab
    lab.server(7201, behavior="echo")
    lab.fault("reject", on="server", direction="in", with_="icmp-host-unreachable")
    with pytest.raises(OSError) as info:
        echo_roundtrip(lab, 7201)
    assert info.value.errno in (errno.EHOSTUNREACH, errno.ECONNREFUSED)


def test_blackhole_syn_only_keeps_established_connections(sockchaos_lab):
    lab = sockchaos_lab
    lab.server(7300, behavior="echo")
    with lab.inside("client"):
        established = socket.create_connection((lab.address("server"), 7300), timeout=2)
    with established:
        with lab.fault("blackhole", on="server", match={"tcp_flags": "syn"}):
            established.sendall(b"ok")
            assert established.recv(2) == b"ok"
            with pytest.raises(OSError):  # a timeout: SYNs vanish
                echo_roundtrip(lab, 7300, timeout=0.5)
        assert echo_roundtrip(lab, 7300) == b"ping"


def test_pause_and_kill_act_on_the_server_agent(sockchaos_lab):
    lab = sockchaos_lab
    lab.server(7400, behavior="echo")
    (pid,) = lab.server_pids()
    with lab.inside("client"):
        s = socket.create_connection((lab.address("server"), 7400), timeout=0.5)
    with s:
        pause = lab.fault("pause")
        s.sendall(b"a")
        with pytest.raises(socket.timeout):
            s.recv(1)
        pause.heal()
        assert s.recv(1) == b"a"
        lab.fault("kill", on="server")
        s.settimeout(2)
        try:
            assert s.recv(1) == b""  # the kernel closed the dead agent's socket: FIN
        except ConnectionResetError:
            pass
    for _ in range(40):
        if not os.path.exists("/proc/%d" % pid) or open("/proc/%d/stat" % pid).read().split()[2] == "Z":
            break
        time.sleep(0.05)


def test_command_server_is_the_users_program_and_faults_reach_it(sockchaos_lab):
    lab = sockchaos_lab
    # A real program from Debian as the server: python3's http.server, serving the lab's {tmp}.
    lab.server(7500, behavior="command",
               command=["/usr/bin/python3", "-m", "http.server", "{port}", "--bind", "0.0.0.0",
                        "--directory", "{tmp}"])
    assert lab.sockets("server").get("LISTEN", 0) >= 1
    with lab.inside("client"):
        with socket.create_connection((lab.address("server"), 7500), timeout=2) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            assert s.recv(12).startswith(b"HTTP/1.0 200")
        # An idle keep-open connection, then the server's host is blackholed: a user timeout
        # of 1000 ms ends the client's pending send with ETIMEDOUT, as with an agent server.
        s = socket.create_connection((lab.address("server"), 7500), timeout=5)
    with s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, 1000)
        fault = lab.fault("blackhole", on="server")
        s.sendall(b"GET / HTTP/1.0\r\n")
        with pytest.raises(OSError) as e:
            s.recv(1)
        assert e.value.errno == errno.ETIMEDOUT
        assert 1.0 <= time.monotonic() - fault.installed_at < 1.8
    # kill acts on the command (its PID namespace goes with it): nothing listens any more.
    lab.fault("kill", on="server")
    for _ in range(40):
        if lab.sockets("server").get("LISTEN", 0) == 0:
            break
        time.sleep(0.05)
    assert lab.sockets("server").get("LISTEN", 0) == 0


def test_command_server_that_exits_early_names_its_status():
    require_features()
    with sockchaos.Lab() as lab:
        with pytest.raises(RuntimeError, match=r"exited before listening on port 7501 \(status 3\)"):
            lab.server(7501, behavior="command", command=["/bin/sh", "-c", "exit 3"])


def test_crash_then_heal_the_host_comes_back_empty(sockchaos_lab):
    lab = sockchaos_lab
    lab.server(7450, behavior="echo")
    with lab.inside("client"):
        s = socket.create_connection((lab.address("server"), 7450), timeout=0.5)
    with s:
        crash = lab.fault("crash", on="server")
        s.sendall(b"a")
        with pytest.raises(socket.timeout):  # blackholed: nothing comes back
            s.recv(1)
        crash.heal()
        # The host is back without its process: the next segment meets a RST.
        s.settimeout(3)
        with pytest.raises((ConnectionResetError, BrokenPipeError)):
            for _ in range(30):
                s.sendall(b"b")
                s.recv(1)
                time.sleep(0.1)


def test_link_down_then_heal_restores_routes(sockchaos_lab):
    lab = sockchaos_lab
    lab.server(7500, behavior="echo")
    down = lab.fault("link-down", on="server")
    with pytest.raises(OSError):
        echo_roundtrip(lab, 7500, timeout=0.5)
    down.heal()
    assert echo_roundtrip(lab, 7500) == b"ping"


def test_fault_parameters_are_validated_like_scenario_faults(sockchaos_lab):
    lab = sockchaos_lab
    with pytest.raises(sockchaos.ScenarioError) as info:
        lab.fault("drop", probability=2)
    assert "/probability" in str(info.value) and "<lab.fault>" in str(info.value)
    with pytest.raises(sockchaos.ScenarioError) as info:
        lab.fault("melt")
    assert "/kind" in str(info.value)
    with pytest.raises(sockchaos.ScenarioError) as info:
        lab.fault("blackhole", at="1s")
    assert "/at" in str(info.value)
    with pytest.raises(sockchaos.ScenarioError) as info:
        lab.fault("blackhole", on="nowhere")
    assert "/on" in str(info.value)
    with pytest.raises(sockchaos.ScenarioError) as info:
        lab.fault("drop", with_="tcp-reset")
    assert "/with" in str(info.value)
    with pytest.raises(RuntimeError, match="lab.server"):
        lab.fault("kill")
    with pytest.raises(sockchaos.ScenarioError) as info:
        lab.server(7600, behavior="teleport")
    assert "/behavior" in str(info.value)
    with pytest.raises(sockchaos.ScenarioError) as info:
        lab.server(7600, socket={"keepalive": {"idle": 5}})
    assert "/socket/keepalive/idle" in str(info.value)
    # The drop fault with a valid probability installs.
    f = lab.fault("drop", probability=0.5, direction="out")
    assert f.label.startswith("drop 0.5 on server")


def test_sysctl_flat_goes_to_the_client_host():
    require_features()
    with sockchaos.Lab(sysctl={"net.ipv4.tcp_retries2": 4}) as lab:
        with lab.inside("client"):
            client = open("/proc/sys/net/ipv4/tcp_retries2").read().strip()
        with lab.inside("server"):
            server = open("/proc/sys/net/ipv4/tcp_retries2").read().strip()
    assert client == "4" and server == "15"


def test_sysctl_per_host():
    require_features()
    with sockchaos.Lab(sysctl={"client": {"net.ipv4.tcp_syn_retries": 2},
                               "server": {"net.ipv4.tcp_fin_timeout": 7}}) as lab:
        with lab.inside("client"):
            assert open("/proc/sys/net/ipv4/tcp_syn_retries").read().strip() == "2"
        with lab.inside("server"):
            assert open("/proc/sys/net/ipv4/tcp_fin_timeout").read().strip() == "7"


@pytest.mark.sockchaos_lab(sysctl={"net.ipv4.tcp_keepalive_time": 30})
def test_marker_passes_lab_arguments(sockchaos_lab):
    with sockchaos_lab.inside("client"):
        assert open("/proc/sys/net/ipv4/tcp_keepalive_time").read().strip() == "30"


def test_invalid_sysctl_names_the_pointer():
    with pytest.raises(sockchaos.ScenarioError) as info:
        sockchaos.Lab(sysctl={"kernel.panic": 1})
    assert "/client/sysctl/kernel.panic" in str(info.value)


def test_everything_is_torn_down_on_exit_and_on_exceptions():
    require_features()
    baseline = net_namespace_fds()
    with pytest.raises(KeyError):
        with sockchaos.Lab() as lab:
            lab.server(7700, behavior="echo")
            pids = lab.server_pids()
            lab.fault("blackhole")
            assert net_namespace_fds() >= baseline + 2  # one per host, held by fd
            raise KeyError("boom")
    assert lab.closed
    assert net_namespace_fds() == baseline
    for pid in pids:
        assert not os.path.exists("/proc/%d" % pid)
    assert not children_of(os.getpid())
    with pytest.raises(RuntimeError, match="closed"):
        lab.address("server")
    lab.close()  # idempotent


CTRL_C_LAB = textwrap.dedent(r"""
    import os, sys, time, sockchaos
    sys.path.insert(0, sys.argv[1])
    from conftest import children_of
    try:
        with sockchaos.Lab() as lab:
            lab.server(7000, behavior="echo")
            lab.fault("pause")
            print("ready", flush=True)
            time.sleep(30)
    except KeyboardInterrupt:
        print("children", len(children_of(os.getpid())), flush=True)
        sys.exit(42)
""")


def test_ctrl_c_in_a_lab_cleans_up():
    require_features()
    proc = subprocess.Popen([sys.executable, "-c", CTRL_C_LAB, os.path.dirname(__file__)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=BUILD_PYTHON_HINT))
    try:
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(2)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 42, err
    assert "children 0" in out
