"""The cliff application: global options, logging to the app's own stderr, the lazy client."""

from __future__ import annotations

import argparse
import logging
from importlib import metadata
from typing import Any, TextIO, cast

from cliff.app import App
from cliff.commandmanager import CommandManager

from neutrino.cli.api import NeutronClient, Transport
from neutrino.cli.auth import add_auth_options, build_transport

DESCRIPTION = ("Command-line client for Neutrino, a Neutron v2.0-compatible network service: "
               "networks, subnets, ports, agents and DHCP agent scheduling.")


def _version() -> str:
    try:
        return metadata.version("neutrino")
    except metadata.PackageNotFoundError:
        return "unknown"


class _LibrariesWarnOnly(logging.Filter):
    """Let libraries (httpx, keystoneauth) through only at WARNING and above."""

    def filter(self, record: logging.LogRecord) -> bool:
        # httpx logs every request at INFO, which is cliff's default console level; that
        # chatter belongs to -vv, not to every command's stderr.
        return record.name.startswith("neutrino") or record.levelno >= logging.WARNING


class NeutrinoApp(App):
    """`neutrino`: the old `neutron` client's commands against a Neutrino server."""

    # cliff derives NAME from sys.argv[0], which is 'pytest' or '__main__' in-process.
    NAME = "neutrino"
    LOG = logging.getLogger("neutrino.cli")

    def __init__(self, command_manager: CommandManager, transport: Transport | None = None,
                 stdout: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self._transport = transport
        self._client: NeutronClient | None = None
        self._log_handlers: list[logging.Handler] = []
        self._root_level: int | None = None
        super().__init__(description=DESCRIPTION, version=_version(),
                         command_manager=command_manager, stdout=stdout, stderr=stderr,
                         deferred_help=True)

    def build_option_parser(self, description: str | None, version: str | None,
                            argparse_kwargs: dict[str, Any] | None = None
                            ) -> argparse.ArgumentParser:
        parser = super().build_option_parser(description, version, argparse_kwargs)
        add_auth_options(parser)
        return parser

    @property
    def client(self) -> NeutronClient:
        """The REST client, built on first use so `--help` never needs credentials."""
        if self._client is None:
            if self._transport is None:
                self._transport = build_transport(self.options)
            self._client = NeutronClient(self._transport)
        return self._client

    def configure_logging(self) -> None:
        # cliff's version adds a root handler per run; in-process callers (tests) run many
        # times, so keep a handle to remove it again in close_logging().
        root = logging.getLogger("")
        self._root_level = root.level
        level = {0: logging.WARNING, 1: logging.INFO}.get(self.options.verbose_level,
                                                           logging.DEBUG)
        root.setLevel(min(level, root.level) if root.level else level)
        console = logging.StreamHandler(self.stderr)
        console.setLevel(level)
        if level > logging.DEBUG:
            console.addFilter(_LibrariesWarnOnly())
        console.setFormatter(logging.Formatter(self.CONSOLE_MESSAGE_FORMAT))
        self._log_handlers = [console]
        if self.options.log_file:
            file_handler = logging.FileHandler(self.options.log_file)
            file_handler.setFormatter(logging.Formatter(self.LOG_FILE_MESSAGE_FORMAT))
            self._log_handlers.append(file_handler)
        for handler in self._log_handlers:
            root.addHandler(handler)

    def close_logging(self) -> None:
        """Undo configure_logging() so the next in-process run starts clean."""
        root = logging.getLogger("")
        for handler in self._log_handlers:
            root.removeHandler(handler)
            handler.close()
        self._log_handlers = []
        if self._root_level is not None:
            root.setLevel(self._root_level)


def neutron_client(app: App) -> NeutronClient:
    """The REST client of the running `neutrino` app, for commands."""
    return cast(NeutrinoApp, app).client
