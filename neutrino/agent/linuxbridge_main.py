"""`neutrino-linuxbridge-agent --config-file neutron.conf --config-file linuxbridge_conf.ini`."""
from __future__ import annotations

import argparse
import logging
import sys

from neutrino import logs
from neutrino.agent import namespaces
from neutrino.agent.lifecycle import stop_on_signals
from neutrino.agent.linuxbridge_agent import LinuxBridgeAgent
from neutrino.agent.metrics import start_or_log
from neutrino.agent.settings import load_l2_agent_settings
from neutrino.config import ConfigError

LOG = logging.getLogger("neutrino.agent.linuxbridge")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="neutrino-linuxbridge-agent")
    parser.add_argument("--config-file", action="append", default=[], dest="config_files")
    args = parser.parse_args(argv)
    # Before anything else: the parent that started us may not stay around.
    namespaces.outer_mount_namespace()
    # Before reading the config, so that ignored keys are reported.
    logs.setup_early("neutrino-linuxbridge-agent")
    try:
        settings = load_l2_agent_settings(args.config_files)
        logs.configure(settings.log, "neutrino-linuxbridge-agent")
    except (ConfigError, logs.LogSetupError) as exc:
        print(f"neutrino-linuxbridge-agent: {exc}", file=sys.stderr)
        return 2
    from neutrino.transport.factory import make_agent_client  # wired here, nowhere else

    client = make_agent_client(settings.transport_url,
                               control_exchange=settings.control_exchange,
                               tls=settings.transport_tls)
    stop = stop_on_signals()
    agent = LinuxBridgeAgent(settings, client)
    start_or_log(settings.metrics_host, settings.metrics_port, agent.metrics.collector())
    try:
        agent.run(stop)
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
