"""Free TCP ports for test servers, safe when several test processes run at once.

bind(0) hands out a port from the kernel's ephemeral range, the same range every outgoing
connection's source port comes from: on a busy machine (three test workers, agents, clients)
such a port can be taken as somebody's source port, or handed to another worker, between
the moment it is chosen and the moment the server binds it — the server then fails to start.
Ports here come from just below that range, where no outgoing connection lands, and each is
reserved with an flock on a file named after it, held for the life of the test process, so
that two test processes never choose the same one.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import random
import socket
import tempfile
from pathlib import Path

RESERVATIONS = Path(tempfile.gettempdir()) / "neutrino-test-ports"
SPAN = 12000  # how many ports below the ephemeral range are candidates
TRIES = 500
_held: list[int] = []  # descriptors of this process's reservations: closing one frees it


def candidates() -> range:
    """The ports below the kernel's ephemeral range (32768 by default), above 1024."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return range(max(1025, low - SPAN), low)


def bindable(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A free TCP port on `host` ("0.0.0.0": free on every address), reserved for this
    process: no other test process gets it from here."""
    RESERVATIONS.mkdir(exist_ok=True)
    with contextlib.suppress(PermissionError):
        RESERVATIONS.chmod(0o1777)  # test processes of other users reserve here too
    ports = candidates()
    for _ in range(TRIES):
        port = random.choice(ports)
        fd = os.open(RESERVATIONS / str(port), os.O_CREAT | os.O_RDWR, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another test process holds it
            os.close(fd)
            continue
        if bindable(host, port):
            _held.append(fd)
            return port
        os.close(fd)
    raise RuntimeError(f"no free port among {ports.start}-{ports.stop - 1} after {TRIES} tries")

