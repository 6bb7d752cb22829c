"""Metrics of a running deployment (issue 12, "Must show"): the real server's /metrics and
the real DHCP agents' metrics ports, parsed with prometheus_client's parser; HostA's DHCP
agent is killed and the alive gauge, the at-risk gauge and the failover counter change
within agent_down_time + 2 s; its network's new dnsmasq shows on HostB's metrics port."""
from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest

from neutrino.lab.topology import AGENT_METRICS_PORT, L2_AGENT_METRICS_PORT
from tests.support.fault_lab import FaultLab, Stack, running_stack
from tests.support.scrape import Samples, scrape, total, value
from tests.support.waiting import wait_until

pytestmark = pytest.mark.root

DOWN = 5
# Failover waits agent_down_time + this: the networks are at risk for a moment first.
GRACE = 1
STACK = Stack("metrics", "sqlite", "http", agent_down_time=DOWN, report_interval=1,
              extra=f"dhcp_failover_grace = {GRACE}\n")
DHCP = "DHCP agent"
FAILOVERS = ("neutrino_dhcp_binding_changes_total", {"reason": "failover"})


@pytest.fixture(scope="module")
def lab() -> Iterator[FaultLab]:
    with running_stack(STACK) as running:
        yield running


def server_metrics(lab: FaultLab) -> Samples:
    return scrape(lab.servers[0].url + "/metrics", lab.token)


def agent_metrics(lab: FaultLab, host: str, port: int = AGENT_METRICS_PORT) -> Samples:
    return scrape(f"http://{lab.host(host).ip}:{port}/metrics")


def test_killed_agent_shows_dead_at_risk_then_failed_over(lab: FaultLab) -> None:
    net_id = lab.create_network("metrics-net", "10.61.0.0/24", ("HostA",))
    vm = lab.boot("metrics-net", "HostB", "metrics-vm")
    wait_until(lambda: lab.plugged(vm) and lab.served_everywhere(vm), 30, 0.2,
               "the VM plugged and in HostA's hosts file")
    wait_until(lambda: lab.ask_each_agent(vm, tries=3)["HostA"].ip, 30, 0.5,
               "a lease from HostA")
    on_a = agent_metrics(lab, "HostA")
    held = lab.leases("HostA", "metrics-net")
    assert vm.mac in {lease.mac for lease in held}
    assert value(on_a, "neutrino_dhcp_leases", network_id=net_id) == len(held)
    assert value(on_a, "neutrino_dnsmasq_processes") == 1
    assert value(on_a, "neutrino_dhcp_agent_networks_served") == 1
    assert total(on_a, "neutrino_dnsmasq_starts_total") >= 1
    assert total(on_a, "neutrino_dnsmasq_reloads_total") >= 1  # the VM's port came later
    assert total(on_a, "neutrino_dhcp_agent_notification_to_reload_seconds_count") >= 1
    assert value(on_a, "neutrino_dhcp_agent_sync_duration_seconds_count", kind="full") == 1
    # HostB's Linux bridge agent plugged the VM into the network's bridge (the kernel shows
    # it a moment before the agent's pass, which the metrics report, is over).
    def l2_wired() -> bool:
        l2_b = agent_metrics(lab, "HostB", L2_AGENT_METRICS_PORT)
        return (value(l2_b, "neutrino_l2_agent_bridges") or 0) >= 1 and \
            (value(l2_b, "neutrino_l2_agent_devices") or 0) >= 1 and \
            (value(l2_b, "neutrino_l2_agent_converge_duration_seconds_count") or 0) >= 1

    wait_until(l2_wired, 10, 0.1, "HostB's L2 agent metrics to show the VM's bridge")

    before = server_metrics(lab)
    assert value(before, "neutrino_agents", agent_type=DHCP, alive="true",
                 admin_state_up="true") == 2
    assert value(before, "neutrino_dhcp_networks_at_risk") == 0
    assert value(before, "neutrino_dhcp_agent_networks", host="HostA") == 1
    assert value(before, "neutrino_agent_event_lag_revisions", host="HostA") is not None
    failovers = value(before, FAILOVERS[0], **FAILOVERS[1])
    assert failovers is not None

    os.kill(lab.dhcp_agent_pid("HostA"), signal.SIGKILL)  # dnsmasq keeps serving
    lab.dirty = True
    killed = time.monotonic()
    seen: dict[str, float] = {}

    def watch() -> bool:
        now = server_metrics(lab)
        at = time.monotonic() - killed
        if value(now, "neutrino_agent_alive", agent_type=DHCP, host="HostA") == 0 and \
                value(now, "neutrino_agents", agent_type=DHCP, alive="false",
                      admin_state_up="true") == 1:
            seen.setdefault("dead", at)
        if (value(now, "neutrino_dhcp_networks_at_risk") or 0) >= 1:
            seen.setdefault("at risk", at)
        if value(now, FAILOVERS[0], **FAILOVERS[1]) == failovers + 1:
            seen.setdefault("failover", at)
            if value(now, "neutrino_dhcp_agent_networks", host="HostB") == 1:
                seen.setdefault("moved", at)
        return {"dead", "failover", "moved"} <= set(seen)

    wait_until(watch, DOWN + 10, 0.05, "HostA dead and its network failed over")
    print(f"seconds after the kill: {seen}")
    assert "at risk" in seen, f"the at-risk gauge never rose (seen: {seen})"
    assert max(seen.values()) <= DOWN + 2, seen
    assert seen["dead"] <= seen["at risk"] + 0.2 <= seen["failover"] + 0.2, seen
    after = server_metrics(lab)
    assert value(after, "neutrino_dhcp_networks_at_risk") == 0
    age = value(after, "neutrino_agent_heartbeat_age_seconds", agent_type=DHCP, host="HostA")
    assert age is not None and age > DOWN

    # The network's new home shows it on its own metrics port.
    def on_b() -> Samples | None:
        found = agent_metrics(lab, "HostB")
        return found if value(found, "neutrino_dhcp_leases", network_id=net_id) is not None \
            and value(found, "neutrino_dnsmasq_processes") == 1 else None

    found = wait_until(on_b, 20, 0.2, "HostB serving the network")
    assert total(found, "neutrino_dnsmasq_starts_total") >= 1
    assert total(found, "neutrino_dhcp_agent_notification_to_reload_seconds_count") >= 1
