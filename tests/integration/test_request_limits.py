"""No request, with a token or without, can make the server hold unbounded memory or a
connection for ever: body size and read time, header size and time, idle connections."""
from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.databases import fresh_database
from tests.support.server import RunningServer, free_port, running_server, settings_for
from tests.support.waiting import SERVER_START_S, wait_until

REPO = Path(__file__).resolve().parents[2]
MB = 1 << 20
LIMIT = 114688  # [oslo_middleware] max_request_body_size, by default


# ---- a real server process: its memory is its own -------------------------------------------

def rss_bytes(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


@pytest.fixture(scope="module")
def server_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    tmp = tmp_path_factory.mktemp("limits-proc")
    port = free_port()
    conf = tmp / "neutron.conf"
    conf.write_text(f"[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = {port}\n"
                    f"state_path = {tmp}\n[database]\nconnection = sqlite:///{tmp}/n.db\n")
    log = open(tmp / "server.log", "wb")  # noqa: SIM115 - closed below, after the process
    proc = subprocess.Popen([sys.executable, "-m", "neutrino.server", "--config-file",
                             str(conf)], cwd=REPO, stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.poll() is None, (tmp / "server.log").read_text()[-3000:]
        try:
            return httpx.get(url + "/", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(up, SERVER_START_S, interval=0.1, message="neutrino-server to answer")
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()


def _chunks(total: int, size: int = 256 * 1024) -> Iterator[bytes]:
    chunk = b"x" * size
    sent = 0
    while sent < total:
        yield chunk
        sent += size


class PeakRss:
    """Samples a process's resident memory every few milliseconds while in use."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            self._stop.wait(0.005)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)


@pytest.mark.parametrize("declared", [False, True], ids=["chunked", "content-length"])
def test_300_mb_token_request_without_token_is_413_and_server_memory_stays_flat(
        server_process: tuple[str, int], declared: bool) -> None:
    url, pid = server_process
    for _ in range(20):  # warm up: the idle figure is the server's after real requests
        httpx.post(url + "/v3/auth/tokens", json={"auth": {}}, timeout=10)
    idle = rss_bytes(pid)
    high_water_before = rss_bytes(pid, "VmHWM")
    total = 300 * MB
    headers = {"Content-Type": "application/json"}
    if declared:
        headers["Content-Length"] = str(total)
    started = time.monotonic()
    with PeakRss(pid) as sampler:
        # The body comes from a generator: neither side ever holds the 300 MB.
        response = httpx.post(url + "/v3/auth/tokens", content=_chunks(total),
                              headers=headers, timeout=60)
    took = time.monotonic() - started
    assert response.status_code == 413, response.text
    error = response.json()["error"]  # Keystone's error document on an identity path
    assert error["code"] == 413 and error["title"] == "Request Entity Too Large"
    assert str(LIMIT) in error["message"] and "max_request_body_size" in error["message"]
    assert sampler.peak - idle < 50 * MB, (idle, sampler.peak)
    high_water = rss_bytes(pid, "VmHWM")
    assert high_water <= max(high_water_before, idle + 50 * MB), (idle, high_water)
    assert took < 20, took
    # And the server still serves.
    assert httpx.get(url + "/", timeout=5).status_code == 200


def test_large_bodies_to_authenticated_endpoints_are_413_before_the_token_is_checked(
        server_process: tuple[str, int]) -> None:
    url, _ = server_process
    for path in ("/v2.0/networks", "/agent-rpc/v1/report_state"):
        response = httpx.post(url + path, content=_chunks(100 * MB),
                              headers={"Content-Type": "application/json"}, timeout=60)
        assert response.status_code == 413, response.text
        error = response.json()["NeutronError"]
        assert error["type"] == "HTTPRequestEntityTooLarge"
        assert "max_request_body_size" in error["message"]


# ---- small limits on an in-process server ------------------------------------------------

@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    tmp = str(tmp_path_factory.mktemp("limits"))
    with fresh_database("sqlite", tmp) as url, running_server(settings_for(
            url, tmp, client_header_timeout=1, client_body_timeout=1, client_socket_timeout=1,
            max_header_line=4096, max_request_body_size=4096, max_connections=40)) as srv:
        yield srv


def _connect(server: RunningServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.settings.bind_port), timeout=10)
    return sock


def _read_until_closed(sock: socket.socket, limit: float = 10.0) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    started = time.monotonic()
    sock.settimeout(limit)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data, time.monotonic() - started


def _status(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/1.1 ") else 0


def test_connection_that_sends_nothing_is_closed_after_client_header_timeout(
        tight: RunningServer) -> None:
    with _connect(tight) as sock:
        data, took = _read_until_closed(sock)
    assert data == b"" and 0.8 < took < 3, took


def test_headers_sent_a_byte_at_a_time_get_408_and_the_connection_closed(
        tight: RunningServer) -> None:
    request = b"POST /v3/auth/tokens HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 100
    with _connect(tight) as sock:
        started = time.monotonic()
        for byte in request:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            if time.monotonic() - started > 5:
                break
            time.sleep(0.02)  # the attack itself is slow sending, not a synchronisation
        data, _ = _read_until_closed(sock)
    took = time.monotonic() - started
    assert _status(data) == 408, data
    assert b'"error"' in data and b"client_header_timeout" in data  # Keystone's shape
    assert took < 4, took


def test_body_that_stalls_gets_408_after_client_body_timeout(tight: RunningServer) -> None:
    with _connect(tight) as sock:
        sock.sendall(b"POST /v2.0/networks HTTP/1.1\r\nHost: x\r\nContent-Type: "
                     b"application/json\r\nContent-Length: 100\r\n\r\n{\"netw")
        data, took = _read_until_closed(sock)
    assert _status(data) == 408, data
    assert b"HTTPRequestTimeout" in data and 0.8 < took < 3, (data, took)


def test_idle_kept_alive_connection_is_closed_after_client_socket_timeout(
        tight: RunningServer) -> None:
    with _connect(tight) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        data, took = _read_until_closed(sock)
    assert _status(data) == 200 and 0.8 < took < 3, (data[:100], took)


@pytest.mark.parametrize(("request_head", "status", "shape"), [
    (b"GET /v2.0/networks HTTP/1.1\r\nHost: x\r\nX-Auth-Token: " + b"t" * 5000 + b"\r\n\r\n",
     431, b"HTTPRequestHeaderFieldsTooLarge"),
    (b"GET /v3/auth/catalog HTTP/1.1\r\nHost: x\r\nX-Auth-Token: " + b"t" * 5000
     + b"\r\n\r\n", 431, b'"title":"Request Header Fields Too Large"'),
    (b"GET /v2.0/networks?" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414,
     b"HTTPRequestURITooLong"),
    (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 3000)
                                                for i in range(30)) + b"\r\n", 431,
     b"HTTPRequestHeaderFieldsTooLarge"),
], ids=["long header line", "long header line, identity path", "long URL",
        "header section too large"])
def test_oversized_headers_are_refused_and_the_connection_closed(
        tight: RunningServer, request_head: bytes, status: int, shape: bytes) -> None:
    with _connect(tight) as sock:
        try:
            sock.sendall(request_head)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may refuse before it has read all of a section too large
        data, took = _read_until_closed(sock)
    assert _status(data) == status, data[:300]
    assert shape in data and took < 2, (data[:300], took)


def test_an_endless_header_line_is_cut_off_at_the_section_limit(tight: RunningServer) -> None:
    with _connect(tight) as sock:
        # A fixed, small send buffer: otherwise the kernel grows it to megabytes, and what
        # `sent` counts is how long the (loaded) server took to close, not what it read.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Endless: ")
        sent = 0
        try:
            while sent < 10 * MB:
                sock.sendall(b"e" * 65536)
                sent += 65536
        except (BrokenPipeError, ConnectionResetError):
            pass
        data, _ = _read_until_closed(sock)
    print(f"sent before the cut: {sent} bytes")
    assert sent < 2 * MB, sent  # refused once 64 KiB had come, not after 10 MB
    assert data == b"" or _status(data) == 431, data[:200]


def test_body_limit_is_the_configured_one(tight: RunningServer) -> None:
    with tight.client() as c:
        ok = c.post("/v2.0/networks", json={"network": {"name": "n" * 200}})
        big = c.post("/v2.0/networks", content=b'{"network": {"name": "' + b"n" * 5000
                     + b'"}}', headers={"Content-Type": "application/json"})
    assert ok.status_code == 201, ok.text
    assert big.status_code == 413, big.text
    assert "4096" in big.json()["NeutronError"]["message"]


def test_connections_beyond_max_connections_get_503(tight: RunningServer) -> None:
    idle = [_connect(tight) for _ in range(40)]
    try:
        # uvicorn counts the idle connections; the next request over the limit gets 503.
        def refused() -> bool:
            return httpx.get(tight.url + "/", timeout=5).status_code == 503
        assert wait_until(refused, 5, message="a 503 over max_connections")
    finally:
        for sock in idle:
            sock.close()
    assert wait_until(lambda: httpx.get(tight.url + "/", timeout=5).status_code == 200, 5,
                      message="the server to serve again once the connections closed")
