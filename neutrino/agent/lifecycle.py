"""What both agent processes do around their work: a stop event set by SIGTERM or SIGINT."""
from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

LOG = logging.getLogger(__name__)


def stop_on_signals() -> threading.Event:
    """An event that SIGTERM and SIGINT set; the agent's loops watch it."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        LOG.info("signal %d received, stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop
