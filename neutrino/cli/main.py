"""Entry point of `neutrino`: the command table and main(), callable in-process."""

from __future__ import annotations

import contextlib
import sys
from typing import TextIO

from cliff.command import Command
from cliff.commandmanager import CommandManager

from neutrino.cli.api import Transport
from neutrino.cli.app import NeutrinoApp
from neutrino.cli.commands import (
    agents,
    dhcp_scheduling,
    drain,
    extensions,
    history,
    networks,
    ports,
    rebalance,
    subnets,
)

# The old neutron client's command names, kept verbatim so the seed's walk-through works.
COMMANDS: dict[str, type[Command]] = {
    "ext-list": extensions.ListExtension,
    "ext-show": extensions.ShowExtension,
    "net-create": networks.CreateNetwork,
    "net-list": networks.ListNetwork,
    "net-show": networks.ShowNetwork,
    "net-update": networks.UpdateNetwork,
    "net-delete": networks.DeleteNetwork,
    "subnet-create": subnets.CreateSubnet,
    "subnet-list": subnets.ListSubnet,
    "subnet-show": subnets.ShowSubnet,
    "subnet-update": subnets.UpdateSubnet,
    "subnet-delete": subnets.DeleteSubnet,
    "port-create": ports.CreatePort,
    "port-list": ports.ListPort,
    "port-show": ports.ShowPort,
    "port-update": ports.UpdatePort,
    "port-delete": ports.DeletePort,
    "agent-list": agents.ListAgent,
    "agent-show": agents.ShowAgent,
    "agent-update": agents.UpdateAgent,
    "agent-delete": agents.DeleteAgent,
    "dhcp-agent-list-hosting-net": dhcp_scheduling.ListDhcpAgentsHostingNetwork,
    "net-list-on-dhcp-agent": dhcp_scheduling.ListNetworksOnDhcpAgent,
    "dhcp-agent-network-add": dhcp_scheduling.AddNetworkToDhcpAgent,
    "dhcp-agent-network-remove": dhcp_scheduling.RemoveNetworkFromDhcpAgent,
    # Beyond the old client: make-before-break drain (docs/operations.md).
    "agent-drain": drain.DrainAgent,
    "dhcp-agent-rebalance": rebalance.RebalanceDhcpAgents,
    # Neutrino's own: the agent history (issue 12); no neutron command had it.
    "event-list": history.ListEvent,
}


def command_manager() -> CommandManager:
    """A CommandManager holding exactly COMMANDS (no entry-point scan)."""
    manager = CommandManager("neutrino.cli.commands")
    for name, command in COMMANDS.items():
        manager.add_command(name, command)
    return manager


def main(argv: list[str] | None = None, *, transport: Transport | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run one `neutrino` command line and return its exit status.

    `transport` replaces keystoneauth (tests pass a fake or an HttpxTransport); `stdout` and
    `stderr` default to the process's streams.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        # cliff would start an interactive shell; a one-shot CLI shows its help instead.
        args = ["--help"]
    app = NeutrinoApp(command_manager(), transport=transport, stdout=stdout, stderr=stderr)
    with contextlib.ExitStack() as redirections:
        # argparse writes usage errors to sys.stderr directly: follow the caller's streams.
        if stdout is not None:
            redirections.enter_context(contextlib.redirect_stdout(stdout))
        if stderr is not None:
            redirections.enter_context(contextlib.redirect_stderr(stderr))
        return _run(app, args)


def _run(app: NeutrinoApp, args: list[str]) -> int:
    try:
        return app.run(args)
    except SystemExit as exit_request:
        # argparse and cliff's help exit this way; in-process callers want a status instead.
        code = exit_request.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    finally:
        app.close_logging()


if __name__ == "__main__":
    sys.exit(main())
