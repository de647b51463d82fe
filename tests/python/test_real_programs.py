# Real programs from Python: the Lab builds a scenario's topology (a client -> proxy -> server
# chain), a user's command server there with a config template and host names, and relative
# scenario paths in validate() and run() (the gallery's own folder).
import os
import shutil
import socket

import pytest

import sockchaos
from conftest import SCENARIOS, require_features

GALLERY = os.path.join(SCENARIOS, "gallery")
CHAIN = {"hosts": {"client": {}, "proxy": {}, "server": {}}, "links": [["client", "proxy"], ["proxy", "server"]]}
HTTP_OK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def http_get(lab, port, host="proxy"):
    with lab.inside("client"):
        with socket.create_connection((lab.address(host, from_="client"), port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.0\r\nHost: proxy\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    return data
                data += chunk


def chain_lab():
    require_features()
    try:
        return sockchaos.Lab(**CHAIN)
    except sockchaos.SockchaosEnvironmentError as e:
        pytest.skip("sockchaos cannot run here: %s" % e.advice)


def test_lab_builds_a_chain_with_an_agent_proxy():
    with chain_lab() as lab:
        assert sorted(lab.hosts) == ["client", "proxy", "server"]
        # The proxy has one address per link; the client reaches it on their shared link.
        assert lab.address("proxy", from_="client") != lab.address("proxy", from_="server")
        lab.server(8081, on="server", behavior="respond", response="ok\n")
        lab.server(8080, on="proxy", behavior="proxy", upstream="server:8081")
        with lab.inside("client"):
            with socket.create_connection((lab.address("proxy", from_="client"), 8080), timeout=5) as s:
                s.sendall(b"hi\n")
                assert s.recv(16) == b"ok\n"
        assert lab.sockets("server").get("LISTEN", 0) == 1


def test_lab_runs_nginx_from_a_template_naming_the_upstream_by_host_name():
    if not shutil.which("nginx"):
        pytest.skip("needs nginx: apt-get install nginx-light")
    with chain_lab() as lab:
        lab.server(8081, on="server", behavior="respond", framing="http", response=HTTP_OK)
        # proxy_pass http://server:8081; resolves inside the command (its own /etc/hosts).
        lab.server(8080, on="proxy", behavior="command",
                   command=["nginx", "-p", "{tmp}", "-e", "stderr", "-c", "{tmp}/nginx.conf"],
                   files={"nginx.conf": os.path.join(GALLERY, "nginx-proxy.conf.in")})
        for _ in range(5):
            reply = http_get(lab, 8080)
            assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"ok"), reply
        # nginx closed both sides of every request first: TIME_WAIT on the proxy.
        assert lab.sockets("proxy").get("TIME_WAIT", 0) >= 5


def test_a_bad_links_list_is_a_scenario_error():
    require_features()
    with pytest.raises(sockchaos.ScenarioError):
        sockchaos.Lab(hosts={"client": {}, "server": {}}, links=[["client", "nowhere"]])


def test_relative_paths_from_the_gallery_folder(monkeypatch, sockchaos_run):
    monkeypatch.chdir(GALLERY)
    checked = sockchaos.validate("nginx-proxy.json")
    assert checked[0]["name"] == "nginx-proxy" and checked[0]["cells"] == 2
    if not shutil.which("nginx"):
        pytest.skip("needs nginx: apt-get install nginx-light")
    results = sockchaos_run("nginx-proxy.json")
    assert results.passed, results.to_dict()
    run = results.scenarios[0].cells[0].runs[0]
    assert run.outcome != "error"
