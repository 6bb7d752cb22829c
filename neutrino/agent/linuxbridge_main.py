"""`neutrino-linuxbridge-agent --config-file neutron.conf --config-file linuxbridge_conf.ini`."""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

from neutrino.agent import namespaces
from neutrino.agent.linuxbridge_agent import LinuxBridgeAgent
from neutrino.agent.settings import load_l2_agent_settings
from neutrino.config import ConfigError

LOG = logging.getLogger("neutrino.agent.linuxbridge")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="neutrino-linuxbridge-agent")
    parser.add_argument("--config-file", action="append", default=[], dest="config_files")
    args = parser.parse_args(argv)
    # Before anything else: the parent that started us may not stay around.
    namespaces.outer_mount_namespace()
    try:
        settings = load_l2_agent_settings(args.config_files)
    except ConfigError as exc:
        print(f"neutrino-linuxbridge-agent: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.DEBUG if settings.debug else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    from neutrino.transport.factory import make_agent_client  # wired here, nowhere else

    client = make_agent_client(settings.transport_url,
                               control_exchange=settings.control_exchange)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        LOG.info("signal %d received, stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        LinuxBridgeAgent(settings, client).run(stop)
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
