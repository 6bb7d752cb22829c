"""`neutrino-lab vm boot` waits for the port to turn ACTIVE, and says what to check if not."""
from __future__ import annotations

from typing import Any

from neutrino.lab.vms import Vm, not_active_message, wait_active

VM = Vm(name="myserver1", id="dev-1", port_id="p-1", network_id="n-1", network="net1",
        host="HostA", namespace="lab-vm-myserver1", mac="fa:16:3e:00:00:01", ip="10.0.1.3")


class Statuses:
    """Answers port-show with the next status of a script, then the last one forever."""

    def __init__(self, *statuses: str) -> None:
        self.statuses = list(statuses)
        self.asked = 0

    def show(self, kind: str, item_id: str) -> dict[str, Any]:
        assert (kind, item_id) == ("port", VM.port_id)
        self.asked += 1
        return {"status": self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]}


def test_boot_waits_until_the_port_is_active() -> None:
    client = Statuses("DOWN", "DOWN", "ACTIVE")
    assert wait_active(client, VM, timeout=30) == "ACTIVE"  # type: ignore[arg-type]
    assert client.asked == 3


def test_boot_gives_up_after_the_timeout_with_the_last_status() -> None:
    client = Statuses("DOWN")
    assert wait_active(client, VM, timeout=0.3) == "DOWN"  # type: ignore[arg-type]
    assert client.asked >= 2  # asked again until the deadline, not once


def test_the_timeout_message_says_what_the_port_waits_for() -> None:
    text = not_active_message(VM, "DOWN", 60)
    for part in ("myserver1", "p-1", "still DOWN", "60 s", "HostA", "net1",
                 "Linux bridge agent", "DHCP agent"):
        assert part in text, text
    assert "without a status" in not_active_message(VM, "", 5)
