"""`dhcp-agent-rebalance`: even out DHCP agents' load, make-before-break, with progress."""

from __future__ import annotations

import argparse
import time
from typing import Any

from cliff.command import Command

from neutrino.cli.api import NeutronClient
from neutrino.cli.app import neutron_client
from neutrino.cli.commands.messages import say
from neutrino.cli.progress import Progress

POLL = 0.5  # seconds between looks at the moves' progress


def move_line(move: dict[str, Any]) -> str:
    return (f"network {move['network_id']}: {move['from_host']} -> {move['to_host']} "
            f"({move['reason']})")


def still_hosting(client: NeutronClient, moves: list[dict[str, Any]]) -> list[int]:
    """Indexes of the moves whose old agent still hosts the network: one call per agent."""
    held: dict[str, set[str]] = {}
    for agent_id in {m["from_agent_id"] for m in moves}:
        held[agent_id] = {n["id"] for n in client.list_networks_on_dhcp_agent(agent_id)}
    return [i for i, m in enumerate(moves) if m["network_id"] in held[m["from_agent_id"]]]


def waiting(client: NeutronClient) -> set[tuple[str, str]]:
    """(network, old agent) of every move still waiting for its new agent."""
    return {(m["network_id"], m["from_agent_id"]) for m in client.pending_moves()}


class RebalanceDhcpAgents(Command):
    """Move networks between DHCP agents so that their load evens out (make-before-break)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("--dry-run", action="store_true",
                            help="Print the plan (which network, from, to, why); move nothing.")
        parser.add_argument("--no-wait", action="store_true",
                            help="Request the moves and return; they complete on the server.")
        parser.add_argument("--timeout", type=float, default=600.0, metavar="SECONDS",
                            help="How long to watch the moves complete (default 600).")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        client = neutron_client(self.app)
        plan = client.dhcp_rebalance(dry_run=parsed_args.dry_run)
        moves = list(plan["moves"])
        verb = "Would move" if parsed_args.dry_run else "Moving"
        if not moves:
            say(self.app, f"DHCP agents' load ({plan['load_type']}) is even: nothing to move.")
            return 0
        say(self.app, f"{verb} {len(moves)} network(s) to even out DHCP agents' load "
                      f"({plan['load_type']}):")
        for move in moves:
            say(self.app, "  " + move_line(move))
        say(self.app, "Load per agent, before -> after:")
        for agent in plan["agents"]:
            say(self.app, f"  {agent['host']} ({agent['availability_zone']}): "
                          f"{agent['load_before']} -> {agent['load_after']}")
        if parsed_args.dry_run or parsed_args.no_wait:
            return 0
        return self._watch(client, moves, parsed_args.timeout)

    def _watch(self, client: NeutronClient, moves: list[dict[str, Any]], timeout: float
               ) -> int:
        """Report each move as it completes: its new agent serves, the old one let go."""
        skipped = [m for m in moves if "skipped" in m]
        for move in skipped:
            say(self.app, f"  not moved: network {move['network_id']}: {move['skipped']}")
        moves = [m for m in moves if "skipped" not in m]
        # On stderr, as agent-drain's: stdout keeps the plan and the outcome.
        progress = Progress(self.app.stderr)
        pending = set(range(len(moves)))
        deadline = time.monotonic() + timeout
        progress.show(0, len(moves), "moves done")
        try:
            while pending and time.monotonic() < deadline:
                still = waiting(client)
                for i in sorted(pending):
                    if (moves[i]["network_id"], moves[i]["from_agent_id"]) not in still:
                        pending.discard(i)
                        progress.show(len(moves) - len(pending), len(moves),
                                      "moved " + move_line(moves[i]))
                if pending:
                    time.sleep(POLL)
        except KeyboardInterrupt:
            progress.end()
            say(self.app, f"Stopped watching; {len(pending)} move(s) continue on the server "
                          "(the old agents keep serving until the new ones are ready).")
            return 130
        progress.end()
        finished = [m for i, m in enumerate(moves) if i not in pending]
        # A move given up (its new agent died, nobody else could take it) leaves the network
        # where it was: say so rather than count it as moved.
        kept = [finished[i] for i in still_hosting(client, finished)]
        for move in kept:
            say(self.app, "  given up, still on the old agent: " + move_line(move))
        if pending:
            say(self.app, f"{len(pending)} move(s) not finished after {timeout:.0f} s; "
                          "the old agents keep serving those networks:")
            for i in sorted(pending):
                say(self.app, "  " + move_line(moves[i]))
        if pending or kept or skipped:
            return 1
        say(self.app, f"Rebalanced: {len(moves)} network(s) moved.")
        return 0
