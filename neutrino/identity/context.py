"""Who is calling: the result of validating a token, handed to policy and services."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RequestContext:
    user_id: str
    user_name: str
    project_id: str
    project_name: str
    roles: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def is_agent(self) -> bool:
        """Agents authenticate as a user holding `service` (or `admin`)."""
        return self.is_admin or "service" in self.roles


ADMIN_CONTEXT = RequestContext("neutrino", "neutrino", "", "", ("admin",))
