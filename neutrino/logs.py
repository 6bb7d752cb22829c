"""Logging set-up shared by every Neutrino process."""
from __future__ import annotations

import logging


def setup(debug: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    # Per-request access lines drown the events operators care about.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
