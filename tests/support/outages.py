"""Control-plane outages for end-to-end tests: the database or the broker stopped, a host's
route to the controller cut. Each is a context manager that restores what it broke on the
way out, whatever happened inside (the tests that follow need the services)."""
from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tests.support.broker import start_broker
from tests.support.needs import require
from tests.support.service_lock import services_exclusive
from tests.support.waiting import wait_until

MARIADBD = "/usr/sbin/mariadbd"
MARIADB_ADDRESS = ("127.0.0.1", 3306)


@dataclass
class Outage:
    """When the component was really away (monotonic): from its port closing to its coming
    back, which is what agents and servers saw."""

    what: str
    began: float = 0.0
    ended: float = 0.0

    @property
    def seconds(self) -> float:
        return self.ended - self.began


def port_open(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=0.5):
            return True
    except OSError:
        return False


def require_outage_tools() -> None:
    """Stopping services needs root, rabbitmqctl and the MariaDB daemon at its Debian path."""
    require("stopping the machine's services", ("rabbitmqctl", "start-stop-daemon", MARIADBD))


def start_mariadb() -> None:
    subprocess.run(["start-stop-daemon", "--start", "--oknodo", "--background", "--exec",
                    MARIADBD], check=True, capture_output=True, timeout=30)
    wait_until(lambda: port_open(MARIADB_ADDRESS), 60, 0.1, "MariaDB to listen again")


@contextmanager
def mariadb_stopped() -> Iterator[Outage]:
    """MariaDB's daemon stopped (port closed) for the body; started again however it ends.
    Other processes' tests that use MariaDB wait (the service lock) until it is back."""
    outage = Outage("MariaDB")
    with services_exclusive():
        try:
            subprocess.run(["start-stop-daemon", "--stop", "--oknodo", "--exec", MARIADBD],
                           check=True, capture_output=True, timeout=30)
            wait_until(lambda: not port_open(MARIADB_ADDRESS), 60, 0.1, "MariaDB to stop")
            outage.began = time.monotonic()
            yield outage
        finally:
            start_mariadb()
            outage.ended = time.monotonic()


@contextmanager
def broker_stopped() -> Iterator[Outage]:
    """The RabbitMQ application stopped (every connection drops) for the body; started and
    awaited again however it ends. Other processes' tests that use RabbitMQ wait (the
    service lock) until it is back."""
    outage = Outage("RabbitMQ")
    with services_exclusive():
        try:
            subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True,
                           timeout=60)
            outage.began = time.monotonic()
            yield outage
        finally:
            start_broker()
            outage.ended = time.monotonic()


@contextmanager
def route_cut(namespace: str, address: str) -> Iterator[Outage]:
    """`address` unreachable from the namespace (a blackhole route: sends fail at once, as on
    a host whose uplink to the controller is gone); the route is deleted however it ends."""
    outage = Outage(f"route {namespace} -> {address}")
    subprocess.run(["ip", "-n", namespace, "route", "add", "blackhole", f"{address}/32"],
                   check=True, capture_output=True)
    outage.began = time.monotonic()
    try:
        yield outage
    finally:
        subprocess.run(["ip", "-n", namespace, "route", "del", "blackhole", f"{address}/32"],
                       check=False, capture_output=True)
        outage.ended = time.monotonic()
