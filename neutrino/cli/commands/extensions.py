"""ext-list and ext-show: which API extensions the server offers."""

from __future__ import annotations

import argparse
from typing import Any

from cliff.lister import Lister
from cliff.show import ShowOne

from neutrino.cli.app import neutron_client
from neutrino.cli.display import list_rows, show_table

EXTENSION_COLUMNS = ("alias", "name")


class ListExtension(Lister):
    """List the API extensions the server supports (GET /v2.0/extensions)."""

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        extensions = neutron_client(self.app).list_extensions()
        return EXTENSION_COLUMNS, list_rows(extensions, EXTENSION_COLUMNS)


class ShowExtension(ShowOne):
    """Show one API extension by alias (GET /v2.0/extensions/{alias})."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("alias", metavar="EXT_ALIAS", help="Alias, e.g. agent_scheduler.")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        return show_table(neutron_client(self.app).show_extension(parsed_args.alias))
