"""`neutrino-dhcp-agent --config-file neutron.conf --config-file dhcp_agent.ini [cleanup]`."""
from __future__ import annotations

import argparse
import logging
import sys
import threading

from neutrino import logs
from neutrino.agent import namespaces
from neutrino.agent.cleanup import cleanup_dhcp
from neutrino.agent.dhcp_agent import DhcpAgent
from neutrino.agent.lifecycle import stop_on_signals
from neutrino.agent.metrics import start_or_log
from neutrino.agent.settings import DhcpAgentSettings, load_dhcp_agent_settings
from neutrino.config import ConfigError
from neutrino.transport.client import AgentRefused, AgentServerClient

LOG = logging.getLogger("neutrino.agent.dhcp")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="neutrino-dhcp-agent")
    parser.add_argument("--config-file", action="append", default=[], dest="config_files")
    parser.add_argument("command", nargs="?", choices=["run", "cleanup"], default="run",
                        help="cleanup: remove every namespace, tap and dnsmasq of this agent")
    return parser.parse_args(argv)


def make_client(settings: DhcpAgentSettings) -> AgentServerClient:
    from neutrino.transport.factory import make_agent_client  # wired here, nowhere else

    return make_agent_client(settings.transport_url,
                             control_exchange=settings.control_exchange,
                             tls=settings.transport_tls)


# Seconds a stopping agent may spend finishing the step it is in.
STOP_GRACE = 2.0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Before anything else: the parent that started us may not stay around.
    namespaces.outer_mount_namespace()
    # Before reading the config, so that ignored keys are reported.
    logs.setup_early("neutrino-dhcp-agent")
    try:
        settings = load_dhcp_agent_settings(args.config_files)
        logs.configure(settings.log, "neutrino-dhcp-agent")
    except (ConfigError, logs.LogSetupError) as exc:
        print(f"neutrino-dhcp-agent: {exc}", file=sys.stderr)
        return 2
    if args.command == "cleanup":
        cleanup_dhcp(settings.dhcp_confs, settings.namespace_prefix)
        return 0
    client = make_client(settings)
    stop = stop_on_signals()
    agent = DhcpAgent(settings, client)
    start_or_log(settings.metrics_host, settings.metrics_port, agent.metrics.collector())
    refused: list[AgentRefused] = []

    def work() -> None:
        try:
            agent.run(stop)
        except AgentRefused as exc:
            refused.append(exc)
        finally:
            stop.set()

    # The agent may sit in a long-poll for many seconds; running it in a daemon thread lets
    # SIGTERM end the process at once. Convergence is idempotent and dnsmasq keeps serving,
    # so whatever is cut short is picked up by the next start.
    runner = threading.Thread(target=work, name="dhcp-agent", daemon=True)
    runner.start()
    while not stop.wait(1.0):
        pass
    runner.join(STOP_GRACE)
    client.close()
    if refused:
        LOG.error("the server at %s refused this agent: %s", settings.server.url, refused[0])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
