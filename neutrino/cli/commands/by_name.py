"""The show and delete commands every core resource has, written once."""

from __future__ import annotations

import argparse
from typing import Any, ClassVar

from cliff.command import Command
from cliff.show import ShowOne

from neutrino.cli.app import neutron_client
from neutrino.cli.commands.messages import say
from neutrino.cli.display import show_table
from neutrino.cli.resolve import find_id


class ShowByName(ShowOne):
    """Base of net-show, subnet-show and port-show: one resource by name or id."""

    resource: ClassVar[str] = ""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("target", metavar=self.resource.upper(),
                            help=f"Name or id of the {self.resource}.")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        client = neutron_client(self.app)
        return show_table(client.show(self.resource,
                                      find_id(client, self.resource, parsed_args.target)))


class DeleteByName(Command):
    """Base of net-delete, subnet-delete and port-delete: one resource by name or id."""

    resource: ClassVar[str] = ""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("target", metavar=self.resource.upper(),
                            help=f"Name or id of the {self.resource} to delete.")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        client = neutron_client(self.app)
        client.delete(self.resource, find_id(client, self.resource, parsed_args.target))
        say(self.app, f"Deleted {self.resource}: {parsed_args.target}")
        return 0
