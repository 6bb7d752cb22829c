"""With api_workers = 2, what the workers log reaches [DEFAULT] log_file in the configured
format: a failover move made by a worker, and the INFO lines before it (issue 12 item 5)."""
from __future__ import annotations

import re
import time
from pathlib import Path

from neutrino.logs import LINE_PATTERN
from neutrino.transport.http_client import HttpAgentClient
from tests.support.agents import dhcp_state
from tests.support.server import USERS
from tests.support.server_process import ReplicaClient, server_process
from tests.support.waiting import wait_until


def test_failover_by_an_api_worker_is_logged_formatted_in_log_file(tmp_path: Path) -> None:
    log_file = tmp_path / "neutrino-server.log"
    with server_process(tmp_path, f"api_workers = 2\nlog_file = {log_file}\n") as server:
        assert server.proc is not None
        master = server.proc.pid
        api = ReplicaClient.logged_in(server).client()
        name, password, project = USERS["agent"]
        agent = HttpAgentClient(server.url, name, password, project)
        for host in ("logs-host-a", "logs-host-b"):
            agent.report_state(dhcp_state(host, start=True))
        network = api.post("/v2.0/networks", json={"network": {"name": "logs-net"}}).json()
        net_id = network["network"]["id"]
        answer = api.post("/v2.0/subnets", json={"subnet": {
            "network_id": net_id, "cidr": "10.77.0.0/24", "ip_version": 4}})
        assert answer.status_code == 201, answer.text

        def hosts() -> list[str]:
            found = api.get(f"/v2.0/networks/{net_id}/dhcp-agents").json()["agents"]
            return [a["host"] for a in found]

        wait_until(lambda: len(hosts()) == 1, 10, 0.1, "the network to be scheduled")
        first = hosts()[0]
        other = "logs-host-b" if first == "logs-host-a" else "logs-host-a"
        started = time.monotonic()

        def moved() -> bool:
            agent.report_state(dhcp_state(other))  # the survivor stays alive; `first` is silent
            return hosts() == [other]

        wait_until(moved, 30, 0.5, f"network {net_id} to fail over from {first} to {other}")
        print(f"failover seen {time.monotonic() - started:.1f} s after the last heartbeat")
        agent.close()

        def failover_line() -> re.Match[str] | None:
            text = log_file.read_text()
            return next((m for m in LINE_PATTERN.finditer(text)
                         if f"network {net_id} moved from dead DHCP agent" in m["message"]),
                        None)

        # The worker writes the line just after its commit: wait for it, briefly.
        wait_until(lambda: failover_line() is not None, 5, 0.1, "the failover line")
    text = log_file.read_text()
    lines = list(LINE_PATTERN.finditer(text))
    line = failover_line()
    assert line is not None
    assert line["level"] == "WARNING" and line["logger"] == "neutrino.services.bindings"
    assert int(line["pid"]) != master, "the failover was logged by the master, not a worker"
    # INFO from the workers is kept too: each announces itself, and one logs the scheduling.
    worker_pids = {m["pid"] for m in lines if m["message"].startswith("API worker ")}
    assert len(worker_pids) == 2 and str(master) not in worker_pids, text
    scheduled = [m for m in lines if m["message"].startswith(f"network {net_id} scheduled")]
    assert scheduled and scheduled[0]["level"] == "INFO", text
    assert scheduled[0]["pid"] in worker_pids
    # Nothing bare: every line in the file has the configured shape.
    bare = [ln for ln in text.splitlines()
            if ln.strip() and not LINE_PATTERN.match(ln) and not ln.startswith((" ", "\t"))
            and not ln.startswith("Traceback")]
    assert not bare, f"lines not in the configured format: {bare[:5]}"
