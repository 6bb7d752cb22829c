"""The metrics of real `neutrino-server` processes: with api_workers = 2 every worker's
counts reach every scrape (multiprocess mode), and [DEFAULT] metrics_bind serves them
without a token while /metrics on the API port still wants an admin."""
from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.scrape import scrape, total
from tests.support.server import free_port
from tests.support.server_process import ReplicaClient, server_conf, server_process

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



def test_a_metrics_bind_it_cannot_listen_on_stops_the_server(tmp_path: Path) -> None:
    port = free_port()
    conf = tmp_path / "neutron.conf"
    conf.write_text(server_conf(port=free_port(), state_path=tmp_path,
                                db_url=f"sqlite:///{tmp_path}/neutrino.db",
                                bind_host="127.0.0.1", wait_for_database=False,
                                extra=f"metrics_bind = 127.0.0.1:{port}\n"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        done = subprocess.run([sys.executable, "-m", "neutrino.server", "--config-file",
                               str(conf)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 5, done.stderr
    assert f"cannot listen on [DEFAULT] metrics_bind = 127.0.0.1:{port}: Address already " \
        "in use" in done.stderr
