"""The one-line confirmations the old neutron client printed around its tables."""

from __future__ import annotations

import argparse

from cliff.app import App


def say(app: App, text: str) -> None:
    """Print a confirmation line on the app's stdout."""
    app.stdout.write(text + "\n")


def say_created(app: App, parsed_args: argparse.Namespace, resource: str) -> None:
    """'Created a new <resource>:' above the table, as the old client did.

    Only for the table format: a line above JSON, YAML or values would break the scripts
    that ask for those formats.
    """
    if getattr(parsed_args, "formatter", "table") == "table":
        say(app, f"Created a new {resource}:")
