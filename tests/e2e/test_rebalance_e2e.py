"""Rebalance after a third agent joins loses no DHCP request (issue 9): a real
neutrino-server, the lab's HostA, HostB and HostC with real DHCP and Linux bridge agent
processes and dnsmasq. HostA and HostB host three networks each; HostC's DHCP agent joins
(registers for the first time) empty; `neutrino dhcp-agent-rebalance` moves one network
from each of HostA and HostB to it, make-before-break, while VMs on the moving networks
(and one that stays) ask with udhcpc in loops: 0 failed requests, HostC hosts its share."""
from __future__ import annotations

import time

import pytest

from neutrino.lab import runtime
from tests.support.dhcp_loops import DhcpLoop
from tests.support.fault_lab import Stack, running_stack
from tests.support.waiting import wait_until

pytestmark = pytest.mark.root

LAYOUT = {"rb1": "HostA", "rb2": "HostA", "rb3": "HostA",
          "rb4": "HostB", "rb5": "HostB", "rb6": "HostB"}


def test_a_joining_agent_gets_its_share_and_no_request_fails() -> None:
    stack = Stack("rebalance", "sqlite", "http", hosts=("HostA", "HostB", "HostC"))
    with running_stack(stack) as lab:
        try:
            # HostC's DHCP agent leaves the deployment until the networks are placed, then
            # joins as a new agent (its row deleted: it registers afresh).
            host_c = lab.host("HostC")
            runtime.stop_agent(lab.lab_dir, host_c, runtime.DHCP)
            lab.api.delete("agent", lab.agents()[("DHCP agent", "HostC")]["id"])
            for index, (name, host) in enumerate(LAYOUT.items()):
                lab.create_network(name, f"10.43.{index + 1}.0/24", (host,))
            runtime.start_agent(lab.lab_dir, host_c, runtime.DHCP)
            wait_until(lab.all_agents_alive, 40, 0.2, "HostC's DHCP agent registered")
            assert lab.bindings() == {name: (host,) for name, host in LAYOUT.items()}

            plan = lab.api.dhcp_rebalance(dry_run=True)
            by_id = {net_id: name for name, net_id in lab.networks.items()}
            moving = {by_id[m["network_id"]]: m["from_host"] for m in plan["moves"]}
            assert sorted(moving.values()) == ["HostA", "HostB"]
            assert {m["to_host"] for m in plan["moves"]} == {"HostC"}
            staying = next(name for name in LAYOUT if name not in moving)
            # VMs on the hosts that keep their agents: their requests reach the old dnsmasq
            # until the move, then cross the VXLAN to HostC's. A request is udhcpc's usual
            # three DISCOVERs a second apart (tests/support/dhcp_loops.py), as a real client
            # sends them.
            for name in [*moving, staying]:
                vm = lab.boot(name, LAYOUT[name], f"{name}-vm")
                lab.loops[vm.name] = DhcpLoop(vm, lab.script).start()
            lab.layout.update({name: (LAYOUT[name],) for name in LAYOUT})
            lab.wait_stable()
            start = time.monotonic()

            code, out, err = lab.cli("dhcp-agent-rebalance", "--timeout", "40")
            assert code == 0, (out, err)
            assert "Rebalanced: 2 network(s) moved." in out
            done = time.monotonic()
            print(f"rebalance of 2 networks to the joining agent: {done - start:.1f} s")
            expected = {name: ("HostC",) if name in moving else (host,)
                        for name, host in LAYOUT.items()}
            assert lab.bindings() == expected
            wait_until(lambda: lab.fresh_leases(done), 30, 0.2, "leases after the rebalance")
            lab.assert_no_request_failed(start)
        except BaseException:
            lab.tail_logs()
            raise
