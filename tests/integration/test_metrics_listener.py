"""The metrics of real `neutrino-server` processes: with api_workers = 2 every worker's
counts reach every scrape (multiprocess mode), and [DEFAULT] metrics_bind serves them
without a token while /metrics on the API port still wants an admin."""
from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.scrape import scrape, total
from tests.support.server import free_port
from tests.support.server_process import ReplicaClient, server_process

REQUESTS = 24


def test_workers_counts_are_summed_and_the_listener_needs_no_token(tmp_path: Path) -> None:
    port = free_port()
    with server_process(tmp_path, f"api_workers = 2\nmetrics_bind = 127.0.0.1:{port}\n"
                        ) as server:
        replica = ReplicaClient.logged_in(server)
        token = replica.tokens["admin"]
        listener = f"http://127.0.0.1:{port}/metrics"
        assert httpx.get(server.url + "/metrics").status_code == 401
        with replica.client("member") as member:
            assert member.get("/metrics").status_code == 403
        # Fresh connections: uvicorn's workers share the socket, so requests spread.
        for _ in range(REQUESTS):
            answer = httpx.get(server.url + "/v2.0/networks", headers={"X-Auth-Token": token})
            assert answer.status_code == 200, answer.text
        name = "neutrino_api_request_duration_seconds_count"
        counted = [total(scrape(listener), name, route="/v2.0/networks", status="200")]
        # Whichever worker answers a scrape on the API port, it counts every worker's.
        counted += [total(scrape(server.url + "/metrics", token), name,
                          route="/v2.0/networks", status="200") for _ in range(6)]
        assert counted == [REQUESTS] * len(counted)
        fleet = scrape(listener)
        assert total(fleet, "neutrino_agents") == 0
        assert total(fleet, "neutrino_dhcp_binding_changes_total") == 0

