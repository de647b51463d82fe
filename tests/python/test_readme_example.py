# The README's headline example: a socket with TCP_USER_TIMEOUT 1000 ms fails within 1.8 s
# after the server host is blackholed. (Linux counts the timeout from the first
# retransmission, one RTO >= 200 ms after the unacknowledged segment: ~1.2-1.3 s here.)
import errno
import socket
import time


def test_user_timeout_detects_blackholed_server(sockchaos_lab):
    lab = sockchaos_lab
    lab.server(7000, behavior="sink")
    with lab.inside("client"):
        sock = socket.create_connection((lab.address("server"), 7000), timeout=5)
        with sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, 1000)
            sock.sendall(b"hello")  # established, data acknowledged

            fault = lab.fault("blackhole", on="server")
            failure = None
            for _ in range(500):  # bounded: ~5 s at most
                try:
                    sock.sendall(b"x" * 1024)
                except OSError as e:
                    failure = e
                    break
                time.sleep(0.01)

    assert failure is not None and failure.errno == errno.ETIMEDOUT
    assert time.monotonic() - fault.installed_at < 1.8
