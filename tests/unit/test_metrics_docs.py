"""docs/grafana-dashboard.json and docs/prometheus-alerts.yml load, and name only metrics
that the server and the DHCP agent really export (read from their own exposition, parsed
with prometheus_client's parser)."""
from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import generate_latest

from neutrino.agent.metrics import AgentMetrics, L2AgentMetrics, Served
from neutrino.metrics.exposition import Exposition
from neutrino.metrics.instruments import ServerMetrics
from neutrino.services.fleet import FleetSummary
from tests.support.scrape import family_names

DOCS = Path(__file__).resolve().parents[2] / "docs"
NAME = re.compile(r"\bneutrino_[a-z0-9_]+")
SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def exported() -> set[str]:
    """Family names of a scrape of the server, of a DHCP agent and of an L2 agent."""
    fleet = FleetSummary(at=datetime(2026, 1, 1), agents=[], dhcp_networks=0,
                         networks_at_risk=0, networks_unserved=0, dhcp_agents_per_network=1,
                         event_head=0)
    server = generate_latest(Exposition(ServerMetrics().source, lambda: fleet)).decode()
    agent_metrics = AgentMetrics()
    agent_metrics.serve(lambda: Served({}, 0))
    agent = generate_latest(agent_metrics.collector()).decode()
    l2 = generate_latest(L2AgentMetrics().collector()).decode()
    return family_names(server) | family_names(agent) | family_names(l2)


def family(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[:-len(suffix)]
    return name


def named(exprs: list[str]) -> set[str]:
    return {family(n) for expr in exprs for n in NAME.findall(expr)}


def test_dashboard_loads_and_names_only_exported_metrics() -> None:
    dashboard: dict[str, Any] = json.loads((DOCS / "grafana-dashboard.json").read_text())
    panels = dashboard["panels"]
    exprs = [t["expr"] for p in panels for t in p["targets"]]
    used = named(exprs)
    assert used and used <= exported(), used - exported()
    titles = " ".join(p["title"].lower() for p in panels)
    for wanted in ("alive agents", "at risk", "failover", "api latency", "lag"):
        assert wanted in titles, wanted
    assert len({p["id"] for p in panels}) == len(panels)
    assert all(p["datasource"]["uid"] == "${DS_PROMETHEUS}" for p in panels)
    assert dashboard["__inputs"][0]["name"] == "DS_PROMETHEUS"


def test_alert_rules_name_only_exported_metrics() -> None:
    rules = yaml.safe_load((DOCS / "prometheus-alerts.yml").read_text())
    alerts = {r["alert"]: r for g in rules["groups"] for r in g["rules"]}
    assert {"NeutrinoAgentDown", "NeutrinoNetworkAtRisk", "NeutrinoAgentLagHigh"} <= \
        set(alerts)
    used = named([r["expr"] for r in alerts.values()])
    assert used <= exported(), used - exported()
    assert all(r["annotations"]["summary"] for r in alerts.values())


def test_metrics_doc_lists_every_exported_metric() -> None:
    text = (DOCS / "metrics.md").read_text()
    # Counters' _created series are prometheus_client's own: when each series began.
    missing = {name for name in exported() if not name.endswith("_created")
               and name not in text and f"{name}_total" not in text}
    assert not missing, missing
