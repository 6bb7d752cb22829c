"""The lab talks to the server as an operator would: credentials from --os-*/OS_*."""
from __future__ import annotations

import argparse

from neutrino.cli.api import NeutronClient
from neutrino.cli.auth import build_transport


def connect(options: argparse.Namespace) -> NeutronClient:
    """A client authenticated as the --os-* options (or the OS_* variables) say."""
    return NeutronClient(build_transport(options))
