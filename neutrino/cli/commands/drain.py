"""agent-drain: move every network off a DHCP agent, make-before-break, with progress."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from cliff.lister import Lister

from neutrino.cli.api import NeutronClient
from neutrino.cli.app import neutron_client
from neutrino.cli.progress import Progress

COLUMNS = ("network_id", "action", "to_agent_id")
POLL = 0.5
BATCH = 50


class DrainAgent(Lister):
    """Disable a DHCP agent and move its networks to other live agents, each one kept
    served until its new agent serves it (POST/GET /v2.0/agents/{id}/drain). Interrupt
    with Ctrl-C and run again to resume; networks no live agent can take stay."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("agent", metavar="DHCP_AGENT", help="Id of the DHCP agent.")
        parser.add_argument("--dry-run", "--dry_run", action="store_true",
                            help="Print the plan (network, action, target) and change nothing.")
        parser.add_argument("--batch", type=int, default=BATCH, metavar="N",
                            help=f"Moves in progress at once (default {BATCH}).")
        parser.add_argument("--timeout", type=float, default=0, metavar="SECONDS",
                            help="Give up waiting after this long (default 0: no limit); "
                                 "moves in progress still finish.")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        client = neutron_client(self.app)
        if parsed_args.batch < 1:
            raise SystemExit("--batch must be at least 1.")
        if parsed_args.dry_run:
            plan = client.drain_agent(parsed_args.agent, dry_run=True)["planned"]
            return COLUMNS, [(p["network_id"], p["action"], p["to_agent_id"] or "")
                             for p in plan]
        progress = Progress(self.app.stderr)
        try:
            rows = run_drain(client, parsed_args.agent, parsed_args.batch,
                             parsed_args.timeout, progress, time.monotonic, time.sleep)
        except KeyboardInterrupt:
            progress.end()
            self.app.stderr.write(
                "Interrupted. The moves already started finish on their own and the agent "
                "stays disabled; run agent-drain again to resume.\n")
            raise SystemExit(130) from None
        progress.end()
        stayed = sum(1 for row in rows if row[1] == "stayed")
        if stayed:
            self.app.stderr.write(
                f"{stayed} networks stay on the agent: no live, enabled DHCP agent that "
                "reaches their segment can take them (listed as 'stayed'). They are still "
                "served there.\n")
            self.exit_code = 1
        return COLUMNS, rows

    exit_code = 0

    def run(self, parsed_args: argparse.Namespace) -> int:
        code = super().run(parsed_args)
        return code or self.exit_code


def run_drain(client: NeutronClient, agent_id: str, batch: int, timeout: float,
              progress: Progress, clock: Callable[[], float],
              pause: Callable[[float], None]) -> list[tuple[str, str, str]]:
    """Start moves in batches and follow them until nothing movable is left."""
    report = client.drain_agent(agent_id, limit=batch)
    total = report["networks"]
    targets: dict[str, str] = {}
    deadline = clock() + timeout if timeout > 0 else None
    while True:
        for move in report["moving"]:
            targets[move["network_id"]] = move["to_agent_id"] or ""
        left, moving = report["networks"], len(report["moving"])
        stuck = report["unmovable"]
        # Moves whose target is not ready within the server's dhcp_move_timeout, with no
        # other agent to retry on: the agent serves those networks until one is.
        late = report.get("stuck", 0)
        progress.show(total - left, total, f"networks moved off, {moving} moving"
                      + (f" ({late} stuck)" if late else "")
                      + (f", {len(stuck)} cannot move" if stuck else ""))
        if moving == 0 and left <= len(stuck):
            break
        if deadline is not None and clock() > deadline:
            raise SystemExit(f"Gave up waiting after {timeout:g} s with {left} networks still "
                             f"on the agent ({moving} moving); run agent-drain again to "
                             "resume.")
        pause(POLL)
        if moving < batch and left - moving > len(stuck):
            report = client.drain_agent(agent_id, limit=batch - moving)
        else:
            report = client.drain_status(agent_id)
    rows = [(n, "moved", to) for n, to in sorted(targets.items()) if n not in stuck]
    return rows + [(n, "stayed", "") for n in stuck]
