"""The dashboard in a real browser (headless Debian Chromium driven by Selenium) against a
real neutrino-server process and the lab's HostA and HostB with their four agents: log in,
see the four agents alive, stop HostA's DHCP agent, and watch the page (never reloaded)
show it dead, its network move to HostB and the failover in the timeline.

The screenshot of the last state is written to the test's directory; its path is listed in
the "artifacts" section at the end of the run (tests/conftest.py), CI's log included.
docs/dashboard.png is one such screenshot."""
from __future__ import annotations

import contextlib
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from neutrino.agent import namespaces
from neutrino.lab import runtime, wiring
from tests.support.lab_env import bootstrap_identities, free_port, require_root_and_tools
from tests.support.needs import ROOT_TOOLS
from tests.support.server import ADMIN_PASSWORD, AGENT_PASSWORD, AGENT_USER, USERS
from tests.support.server_process import ReplicaClient, ServerProcess, running, server_conf
from tests.support.waiting import wait_until

pytestmark = pytest.mark.root

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
BROWSER_TOOLS = (CHROMIUM, CHROMEDRIVER)
AGENT_DOWN_TIME = 5
# How long the page may take to show what the server knows: a push a second, plus slack.
PAGE_LAG = 5.0


@dataclass
class Deployment:
    url: str
    lab_dir: Path
    tmp: Path
    admin: httpx.Client


@contextlib.contextmanager
def deployment() -> Iterator[Deployment]:
    """A real neutrino-server (SQLite) on all addresses, and the lab up against it."""
    require_root_and_tools((*ROOT_TOOLS, *BROWSER_TOOLS), "the dashboard's browser test")
    prefix = f"nd{secrets.token_hex(2)[:3]}-"
    # Not pytest's tmp_path (mode 0700): dnsmasq drops root and must read its files.
    tmp = Path(tempfile.mkdtemp(prefix=f"{prefix}dash-"))
    tmp.chmod(0o755)
    lab_dir = tmp / "lab"
    port = free_port()
    conf = tmp / "neutron.conf"
    conf.write_text(server_conf(port=port, state_path=tmp, db_url=f"sqlite:///{tmp}/n.db",
                                agent_down_time=AGENT_DOWN_TIME, wait_for_database=False))
    bootstrap_identities(conf)
    server = ServerProcess("neutrino-server", conf, port, tmp / "server.log")
    try:
        with running([server]):
            runtime.up(lab_dir, server.url, AGENT_USER, AGENT_PASSWORD, prefix=prefix,
                       report_interval=1)
            replica = ReplicaClient.logged_in(server)
            with replica.client("admin") as admin:
                yield Deployment(server.url, lab_dir, tmp, admin)
    except BaseException:
        for log in sorted(tmp.rglob("*.log")):
            print(f"--- {log} ---\n" + "\n".join(log.read_text().splitlines()[-30:]))
        raise
    finally:
        runtime.down(lab_dir, prefix=prefix)
        left = namespaces.list_names(prefix) + wiring.root_links(prefix)
        shutil.rmtree(tmp, ignore_errors=True)
        assert not left, f"the lab left {left} behind"


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # As root Chromium needs --no-sandbox; /dev/shm may be small in containers.
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--disable-gpu", "--window-size=1440,1000", "--no-first-run"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def agent_rows(driver: Any) -> dict[tuple[str, str], str]:
    """(agent type, host) -> the page's alive flag, for each agent row on the page."""
    rows = driver.execute_script(
        "return [...document.querySelectorAll('#agents tr[data-host]')].map("
        "r => [r.dataset.type, r.dataset.host, r.dataset.alive])")
    return {(kind, host): alive for kind, host, alive in rows}


def network_hosts(driver: Any, network_id: str) -> str | None:
    """The live hosts the page shows for a network ("HostA", "HostA,HostB"), None if absent."""
    result: str | None = driver.execute_script(
        "const r = document.querySelector(`#networks tr[data-network='${arguments[0]}']`);"
        "return r ? r.dataset.hosts : null;", network_id)
    return result


def timeline_kinds(driver: Any) -> list[str]:
    kinds: list[str] = driver.execute_script(
        "return [...document.querySelectorAll('#timeline li[data-kind]')]"
        ".map(li => li.dataset.kind)")
    return kinds


def four_live_agents(admin: httpx.Client) -> bool:
    agents = admin.get("/v2.0/agents").json()["agents"]
    return len(agents) == 4 and all(a["alive"] for a in agents)


def dhcp_agent(admin: httpx.Client, host: str) -> dict[str, Any]:
    agents = admin.get("/v2.0/agents", params={"host": host,
                                               "agent_type": "DHCP agent"}).json()["agents"]
    assert len(agents) == 1, agents
    agent: dict[str, Any] = agents[0]
    return agent


def network_on(admin: httpx.Client, host: str, networks: list[str]) -> str:
    agent_id = dhcp_agent(admin, host)["id"]
    hosted = {n["id"] for n in admin.get(f"/v2.0/agents/{agent_id}/dhcp-networks")
              .json()["networks"]}
    return next(n for n in networks if n in hosted)


def test_dashboard_shows_a_failover_live(tmp_path: Path,
                                        record_property: Callable[[str, object], None]
                                        ) -> None:
    started = time.monotonic()
    with deployment() as dep, chromium() as driver:
        wait_until(lambda: four_live_agents(dep.admin), 30, 0.2, "four live agents")
        networks = []
        for i in range(2):
            net = dep.admin.post("/v2.0/networks", json={"network": {
                "name": f"dash-net{i}"}}).json()["network"]
            dep.admin.post("/v2.0/subnets", json={"subnet": {
                "network_id": net["id"], "cidr": f"10.{60 + i}.0.0/24",
                "ip_version": 4}}).raise_for_status()
            networks.append(net["id"])
        # Least loaded first: one network on each DHCP agent.
        moving = network_on(dep.admin, "HostA", networks)

        driver.get(dep.url + "/dashboard")
        user, password, project = USERS["admin"]
        assert password == ADMIN_PASSWORD
        driver.find_element("id", "username").send_keys(user)
        driver.find_element("id", "password").send_keys(password)
        project_field = driver.find_element("id", "project")
        project_field.clear()
        project_field.send_keys(project)
        driver.find_element("id", "login-button").click()

        wanted = {(kind, host) for kind in ("DHCP agent", "Linux bridge agent")
                  for host in ("HostA", "HostB")}
        wait_until(lambda: agent_rows(driver) == {k: "true" for k in wanted}, 20, 0.1,
                   "the page to show four live agents")
        wait_until(lambda: network_hosts(driver, moving) == "HostA", PAGE_LAG, 0.1,
                   "the page to show the network on HostA")
        # Set once in this page; a reload would lose it.
        driver.execute_script("window.neutrinoTestMark = 'same page';")

        plan = runtime.load(dep.lab_dir).plan
        assert runtime.stop_agent(dep.lab_dir, plan.host("HostA"), runtime.DHCP)
        stopped = time.monotonic()

        wait_until(lambda: agent_rows(driver).get(("DHCP agent", "HostA")) == "false",
                   AGENT_DOWN_TIME + PAGE_LAG, 0.1, "the page to show HostA's DHCP agent dead")
        dead_after = time.monotonic() - stopped
        wait_until(lambda: network_hosts(driver, moving) == "HostB",
                   AGENT_DOWN_TIME + 10, 0.1, "the page to show the network moved to HostB")
        moved_after = time.monotonic() - stopped
        wait_until(lambda: "failover" in timeline_kinds(driver), PAGE_LAG, 0.1,
                   "the failover in the page's timeline")
        assert driver.execute_script("return window.neutrinoTestMark") == "same page"
        # The server agrees with the page.
        hosting = dep.admin.get(f"/v2.0/networks/{moving}/dhcp-agents").json()["agents"]
        assert [a["host"] for a in hosting] == ["HostB"]

        shot = tmp_path / "dashboard.png"
        driver.save_screenshot(str(shot))
        record_property("artifact", str(shot))  # listed at the end of the run (conftest)
        print(f"dashboard screenshot: {shot}")
        print(f"HostA's DHCP agent shown dead {dead_after:.1f} s after it stopped, its "
              f"network shown on HostB after {moved_after:.1f} s; test "
              f"{time.monotonic() - started:.1f} s")
