"""Find a network, subnet or port by name or id, as the old neutron client did."""

from __future__ import annotations

import uuid
from typing import Any

from neutrino.cli.api import CliError, NeutronClient, NotFound


def _looks_like_id(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def find(client: NeutronClient, resource: str, name_or_id: str) -> dict[str, Any]:
    """The one `resource` whose id or name is `name_or_id`; CliError if none or several."""
    if _looks_like_id(name_or_id):
        try:
            return client.show(resource, name_or_id)
        except NotFound:
            pass  # a name may look like a UUID: fall through to the name search.
    # Filter on our side too, in case a server ignores the ?name= filter.
    matches = [item for item in client.list_resources(f"{resource}s", name=name_or_id)
               if item.get("name") == name_or_id]
    if not matches:
        raise CliError(f"Unable to find {resource} with name or id '{name_or_id}'")
    if len(matches) > 1:
        ids = ", ".join(str(item.get("id")) for item in matches)
        raise CliError(f"Multiple {resource}s match name '{name_or_id}' ({ids}); "
                       f"use the id of the one you mean.")
    return matches[0]


def find_id(client: NeutronClient, resource: str, name_or_id: str) -> str:
    """The id of the one `resource` named or identified by `name_or_id`."""
    return str(find(client, resource, name_or_id)["id"])
