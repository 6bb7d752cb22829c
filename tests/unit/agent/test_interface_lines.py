"""What the bridge interface driver tells `ip` inside the DHCP namespace (pure lines)."""
from __future__ import annotations

from neutrino.agent.interface import BridgeInterfaceDriver


def test_a_replug_flushes_global_addresses_only_and_v6_skips_dad() -> None:
    lines = BridgeInterfaceDriver.namespace_lines(
        "0123456789ab-port", "fa:16:3e:00:00:02", ["10.0.1.2/24", "2001:db8::2/64"], 1450,
        flush=True)
    peer = "ns-0123456789a"
    # A flushed link-local address would not come back while the link stays up, and
    # DHCPv6 answers from it.
    assert f"addr flush dev {peer} scope global" in lines
    assert f"addr replace 10.0.1.2/24 dev {peer}" in lines
    assert f"addr replace 2001:db8::2/64 dev {peer} nodad" in lines
