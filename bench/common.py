"""Shared pieces of the benchmarks: a real neutrino-server subprocess and timing helpers."""
from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from sqlalchemy import create_engine, text

ADMIN = ("admin", "adminpassword", "admin")
AGENT = ("neutrino-agent", "agentpassword", "service")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


@contextmanager
def database(kind: str) -> Iterator[str]:
    name = "neutrino_bench_" + uuid.uuid4().hex[:8]
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    admin_url = {"postgresql": "postgresql://postgres@127.0.0.1:5432/postgres",
                 "mariadb": "mysql+pymysql://root@127.0.0.1:3306/"}[kind]
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            if kind == "postgresql":
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"))
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    log: str = ""  # its stderr: where its log lines go

    def log_lines(self, *needles: str) -> int:
        """How many lines of the server's log contain one of `needles`."""
        with open(self.log) as f:
            return sum(1 for line in f if any(n in line for n in needles))

    def token(self, who: tuple[str, str, str] = ADMIN) -> str:
        user, password, project = who
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"id": "default"}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
        r = httpx.post(self.url + "/v3/auth/tokens", json=body)
        r.raise_for_status()
        return r.headers["x-subject-token"]


@contextmanager
def server(db_url: str, extra: str = "", workers: int = 1, code_dir: str | None = None
           ) -> Iterator[Server]:
    """A neutrino-server on `db_url`; with `code_dir`, that tree's code (e.g. an older
    commit's `git archive`): `-m` finds the package in the working directory first."""
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        conf = os.path.join(tmp, "neutron.conf")
        with open(conf, "w") as f:
            f.write(f"[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = {port}\n"
                    f"state_path = {tmp}\napi_workers = {workers}\n{extra}\n"
                    f"[database]\nconnection = {db_url}\n"
                    "[ml2]\ntenant_network_types = vxlan\n"
                    "[ml2_type_vxlan]\nvni_ranges = 1:100000\n")
        manage = [sys.executable, "-m", "neutrino.manage", "--config-file", conf]
        subprocess.run([*manage, "db", "upgrade"], check=True, capture_output=True, cwd=code_dir)
        subprocess.run([*manage, "bootstrap", "--admin-password", ADMIN[1]], check=True,
                       capture_output=True, cwd=code_dir)
        subprocess.run([*manage, "user-create", AGENT[0], "--password", AGENT[1],
                        "--project", AGENT[2], "--role", "service"], check=True,
                       capture_output=True, cwd=code_dir)
        log = open(os.path.join(tmp, "log"), "w")  # noqa: SIM115 - lives as long as the server
        proc = subprocess.Popen([sys.executable, "-m", "neutrino.server", "--config-file", conf],
                                stdout=subprocess.DEVNULL, stderr=log, cwd=code_dir)
        url = f"http://127.0.0.1:{port}"
        # Imports alone take 15 s at a load average of 20 (a shared machine).
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(url + "/")
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    with open(os.path.join(tmp, "log")) as f:
                        raise RuntimeError("server did not start: " + f.read()[-2000:]) \
                            from None
                time.sleep(0.1)
        try:
            yield Server(url, proc, os.path.join(tmp, "log"))
        finally:
            proc.terminate()
            proc.wait(10)
