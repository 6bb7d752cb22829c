"""SQLAlchemy models: the only source of truth (DESIGN.md)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

UUID_LEN = 36
# MySQL/MariaDB DATETIME drops fractions of a second unless asked: liveness and the event
# log's gap grace need them.
Timestamp = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
NAME_LEN = 255
# extra_dhcp_opts names are compared exactly (dnsmasq tags are case-sensitive): binary on
# MySQL/MariaDB, whose default collation would make `tag:A,67` and `tag:a,67` one key.
DhcpOptName = String(64).with_variant(mysql.VARCHAR(64, collation="utf8mb4_bin"), "mysql",
                                      "mariadb")


class Base(DeclarativeBase):
    pass


class Network(Base):
    __tablename__ = "networks"

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LEN), default="")
    description: Mapped[str] = mapped_column(String(NAME_LEN), default="")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    mtu: Mapped[int] = mapped_column(Integer, default=1500)
    # dns-integration: shown and stored; Neutron's internal DNS does not use it either.
    dns_domain: Mapped[str] = mapped_column(String(255), default="", server_default="")
    # network_availability_zone: zone names joined by commas (neutrino/zone_hints.py).
    availability_zone_hints: Mapped[str] = mapped_column(String(255), default="",
                                                         server_default="")
    revision_number: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)

    subnets: Mapped[list[Subnet]] = relationship(
        back_populates="network", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Subnet.created_at")
    segment: Mapped[NetworkSegment | None] = relationship(
        back_populates="network", cascade="all, delete-orphan", passive_deletes=True,
        uselist=False)


class NetworkSegment(Base):
    """A network's provider segment; the unique constraint makes a segment id single-owner."""

    __tablename__ = "network_segments"
    __table_args__ = (
        UniqueConstraint("network_type", "physical_network_key", "segmentation_id",
                         name="uniq_segment"),
    )

    network_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("networks.id", ondelete="CASCADE"), primary_key=True)
    network_type: Mapped[str] = mapped_column(String(32))
    physical_network: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # NULL never collides in a unique index on MySQL/PostgreSQL, so store "" for "no physnet".
    physical_network_key: Mapped[str] = mapped_column(String(64), default="")
    # 0 for types without an id (local, flat): flat uniqueness is per physnet via this key.
    segmentation_id: Mapped[int] = mapped_column(Integer, default=0)

    network: Mapped[Network] = relationship(back_populates="segment")


class Subnet(Base):
    __tablename__ = "subnets"

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    network_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("networks.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LEN), default="")
    description: Mapped[str] = mapped_column(String(NAME_LEN), default="")
    ip_version: Mapped[int] = mapped_column(Integer, default=4)
    cidr: Mapped[str] = mapped_column(String(64))
    gateway_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    enable_dhcp: Mapped[bool] = mapped_column(Boolean, default=True)
    allocation_pools: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    dns_nameservers: Mapped[list[str]] = mapped_column(JSON, default=list)
    host_routes: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    # IPv6 only (neutrino/ipv6.py): slaac, dhcpv6-stateful, dhcpv6-stateless or None.
    ipv6_ra_mode: Mapped[str | None] = mapped_column(String(16), nullable=True)
    ipv6_address_mode: Mapped[str | None] = mapped_column(String(16), nullable=True)
    revision_number: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)

    network: Mapped[Network] = relationship(back_populates="subnets")


class Port(Base):
    __tablename__ = "ports"
    __table_args__ = (UniqueConstraint("network_id", "mac_address", name="uniq_port_mac"),)

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    network_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("networks.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LEN), default="")
    description: Mapped[str] = mapped_column(String(NAME_LEN), default="")
    mac_address: Mapped[str] = mapped_column(String(32))
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    device_id: Mapped[str] = mapped_column(String(255), default="", index=True)
    device_owner: Mapped[str] = mapped_column(String(255), default="")
    binding_host_id: Mapped[str] = mapped_column(String(255), default="", index=True)
    # Port status (neutrino/port_status.py): the host whose L2 agent last reported the port
    # wired ("" when none), and the network revision at which its MAC/IPs were last written
    # (a DHCP agent that confirmed at least that revision has loaded it).
    wired_host: Mapped[str] = mapped_column(String(255), default="", server_default="")
    dhcp_revision: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # dns-integration: lowercased, '' for none; FQDN_FIELD_SIZE long as in Neutron.
    dns_name: Mapped[str] = mapped_column(String(255), default="", server_default="")
    revision_number: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)

    fixed_ips: Mapped[list[IpAllocation]] = relationship(
        back_populates="port", cascade="all, delete-orphan", passive_deletes=True,
        order_by="IpAllocation.ip_address")
    # selectin: every query of ports (API lists, agent payloads) loads them in one batch.
    extra_dhcp_opts: Mapped[list[ExtraDhcpOpt]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin",
        order_by="(ExtraDhcpOpt.ip_version, ExtraDhcpOpt.opt_name)")


class ExtraDhcpOpt(Base):
    """One DHCP option of one port (the extra_dhcp_opt extension), one per name and version."""

    __tablename__ = "extradhcpopts"

    port_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True)
    opt_name: Mapped[str] = mapped_column(DhcpOptName, primary_key=True)
    ip_version: Mapped[int] = mapped_column(Integer, primary_key=True)
    opt_value: Mapped[str] = mapped_column(String(255))


class IpAllocation(Base):
    """One address held by one port; the primary key is what makes double allocation impossible."""

    __tablename__ = "ipallocations"

    subnet_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("subnets.id", ondelete="CASCADE"), primary_key=True)
    ip_address: Mapped[str] = mapped_column(String(64), primary_key=True)
    port_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("ports.id", ondelete="CASCADE"), index=True)
    network_id: Mapped[str] = mapped_column(String(UUID_LEN), index=True)

    port: Mapped[Port] = relationship(back_populates="fixed_ips")


class Agent(Base):
    __tablename__ = "agents"
    __table_args__ = (UniqueConstraint("agent_type", "host", name="uniq_agents_type_host"),)

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    agent_type: Mapped[str] = mapped_column(String(255))
    binary: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255))
    availability_zone: Mapped[str | None] = mapped_column(String(255), nullable=True)
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(String(NAME_LEN), default="")
    configurations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    resource_versions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    load: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    started_at: Mapped[datetime] = mapped_column(Timestamp)
    heartbeat_timestamp: Mapped[datetime] = mapped_column(Timestamp, index=True)
    # What the agent history last recorded of this agent: dead (True) or alive. The
    # server flips it with a conditional UPDATE and notes the transition in the same
    # transaction, so every replica and worker may watch and each transition is noted once
    # (services/history.py).
    history_dead: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class FleetRevision(Base):
    """One row counting changes to agents that their heartbeats do not carry: registration,
    deletion, admin_state_up, availability zone, an L2 agent's reach (services/fleet_snapshot.py).

    Bumped in the same transaction as the change; the row lock orders the bumps like the
    commits, so a worker that reads revision r also reads every such change up to r.
    """

    __tablename__ = "fleet_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger, default=0)


class NetworkDhcpAgentBinding(Base):
    __tablename__ = "networkdhcpagentbindings"

    network_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("networks.id", ondelete="CASCADE"), primary_key=True)
    dhcp_agent_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True,
        index=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    # The network revision this agent last confirmed serving (networks_applied); NULL until
    # it confirms, and again once it reports the network torn down.
    applied_revision: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # The network's revision when the binding was made: a confirmation at or after it says
    # this agent serves the network now (scheduler/readiness.py). NULL on bindings made
    # before migration 0009.
    bound_revision: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class NetworkMove(Base):
    """A make-before-break move in progress (services/moves.py): the from agent's binding
    stays until the to agent's binding is ready, then goes."""

    __tablename__ = "networkmoves"

    network_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("networks.id", ondelete="CASCADE"), primary_key=True)
    from_agent_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True,
        index=True)
    # Not a foreign key: a target that goes away is re-targeted, not a reason to lose the move.
    to_agent_id: Mapped[str] = mapped_column(String(UUID_LEN), index=True)
    reason: Mapped[str] = mapped_column(String(NAME_LEN), default="")
    requested_at: Mapped[datetime] = mapped_column(Timestamp)
    # Since when the current target loads (a re-target restarts it); NULL: requested_at.
    # [DEFAULT] dhcp_move_timeout counts from here (scheduler/moves.py timed_out).
    target_since: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    # Since when the move is reported stuck: timed out with no other agent to retry on.
    stuck_since: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)


class IpQuarantine(Base):
    """An address a port let go, held back from automatic allocation (docs/operations.md,
    "Address reuse") until the agents in its waits confirm or the quarantine passes."""

    __tablename__ = "ipquarantine"
    __table_args__ = (Index("ix_ipquarantine_freed_at", "freed_at"),)

    subnet_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("subnets.id", ondelete="CASCADE"), primary_key=True)
    ip_address: Mapped[str] = mapped_column(String(64), primary_key=True)
    network_id: Mapped[str] = mapped_column(String(UUID_LEN), index=True)
    freed_at: Mapped[datetime] = mapped_column(Timestamp)  # server time
    freed_revision: Mapped[int] = mapped_column(BigInteger)  # network revision after freeing


class IpQuarantineWait(Base):
    """One DHCP agent that may still lease a quarantined address to its old MAC.

    A row per agent rather than a JSON list: an agent's confirmation is one DELETE of its own
    rows, so two agents confirming at once on two server replicas never overwrite each
    other's update, and `settled` is a NOT EXISTS over an index.
    """

    __tablename__ = "ipquarantinewaits"
    __table_args__ = (
        ForeignKeyConstraint(["subnet_id", "ip_address"],
                             ["ipquarantine.subnet_id", "ipquarantine.ip_address"],
                             ondelete="CASCADE"),
        Index("ix_ipquarantinewaits_agent_network", "dhcp_agent_id", "network_id"),
    )

    subnet_id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    ip_address: Mapped[str] = mapped_column(String(64), primary_key=True)
    dhcp_agent_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    # Copies of the quarantine row's, so that a confirmation deletes from this table alone.
    network_id: Mapped[str] = mapped_column(String(UUID_LEN))
    freed_revision: Mapped[int] = mapped_column(BigInteger)


class DhcpUnbinding(Base):
    """A DHCP agent unbound from a network that has not yet confirmed tearing it down.

    An agent cut off from the server when failover unbinds it keeps serving the network's
    old leases; addresses freed meanwhile must wait for it too, not only for bound agents.
    """

    __tablename__ = "dhcpunbindings"

    network_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("networks.id", ondelete="CASCADE"), primary_key=True)
    dhcp_agent_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    unbound_at: Mapped[datetime] = mapped_column(Timestamp, index=True)


class Event(Base):
    """The notification log: its autoincrement id is the revision agents resume from."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_host_id", "host", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    event: Mapped[str] = mapped_column(String(64))
    resource: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[str] = mapped_column(String(UUID_LEN))
    network_id: Mapped[str | None] = mapped_column(String(UUID_LEN), nullable=True)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class AgentHistory(Base):
    """The operator's history: one binding change or agent state change (services/history.py).

    Not the notification log above (`events`), which agents consume; nobody consumes this
    one, operators read it, newest first.
    """

    __tablename__ = "agent_history"
    __table_args__ = (
        Index("ix_agent_history_created_at", "created_at"),
        Index("ix_agent_history_network_id", "network_id", "id"),
        Index("ix_agent_history_agent_id", "agent_id", "id"),
        Index("ix_agent_history_from_agent_id", "from_agent_id", "id"),
        Index("ix_agent_history_to_agent_id", "to_agent_id", "id"),
        Index("ix_agent_history_kind", "kind", "id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)  # server time
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(255))  # a user name, or "server"
    actor_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str] = mapped_column(String(255), default="")
    network_id: Mapped[str | None] = mapped_column(String(UUID_LEN), nullable=True)
    # No foreign keys: the history outlives the agents and networks it tells of.
    agent_id: Mapped[str | None] = mapped_column(String(UUID_LEN), nullable=True)
    from_agent_id: Mapped[str | None] = mapped_column(String(UUID_LEN), nullable=True)
    to_agent_id: Mapped[str | None] = mapped_column(String(UUID_LEN), nullable=True)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)


# ---- identity --------------------------------------------------------------------------------

class Project(Base):
    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    domain_id: Mapped[str] = mapped_column(String(64), default="default")
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    domain_id: Mapped[str] = mapped_column(String(64), default="default")
    password_hash: Mapped[str] = mapped_column(String(512))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Keystone's [security_compliance] lockout: wrong passwords in a row, and when the last
    # one came; in the database so that every replica counts the same failures.
    failed_auth_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failed_auth_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)


class Role(Base):
    __tablename__ = "roles"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)


class RoleAssignment(Base):
    __tablename__ = "role_assignments"

    user_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    role_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True)


class SigningKey(Base):
    """The shared token-signing secret, so that any server replica validates any token."""

    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class RevocationEvent(Base):
    """Tokens issued at or before `issued_before` that match every non-null field are revoked.

    Keystone's revocation events, reduced to the fields Neutrino's tokens carry.
    """

    __tablename__ = "revocation_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    user_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    project_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    audit_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    issued_before: Mapped[datetime] = mapped_column(Timestamp, index=True)
    revoked_at: Mapped[datetime] = mapped_column(Timestamp)
    reason: Mapped[str] = mapped_column(String(64), default="")


class RevocationGeneration(Base):
    """One row counting writes to revocation_events, so replicas poll one integer, not a table.

    Each revocation bumps it in the same transaction as its event; the row lock orders the
    bumps like the commits, so a reader that sees generation g also sees every event up to g.
    """

    __tablename__ = "revocation_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger, default=0)
