"""neutrino-manage: schema upgrades and identity administration."""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass

from neutrino import logs
from neutrino.config import ConfigError, ServerSettings, load_server_settings
from neutrino.db import migrate
from neutrino.db.session import Database
from neutrino.identity.errors import AlreadyExists, IdentityError, NotFound
from neutrino.identity.lifecycle import IdentityLifecycle
from neutrino.identity.revocations import Revocations
from neutrino.identity.store import IdentityStore
from neutrino.services import networks as networks_service

DESCRIPTION = """\
Administer a Neutrino deployment: the database schema, and the users, projects and roles of
its Keystone-compatible identity service. Commands that end someone's access (user-delete,
user-disable, user-password, role-remove, project-delete) also revoke the tokens concerned:
every neutrino-server refuses them within [revoke] cache_time seconds (default 1)."""

EPILOG = """\
examples:
  neutrino-manage --config-file /etc/neutron/neutron.conf db upgrade
  neutrino-manage bootstrap --admin-password secret
  neutrino-manage user-create alice --password pw --project demo --role member
  neutrino-manage role-remove alice --project demo --role member
  neutrino-manage user-disable alice     # user-enable alice undoes it and ends a lockout
"""

USER_HELP = "user name or id"


@dataclass
class Tools:
    """What a command works with, opened once by main()."""

    settings: ServerSettings
    db: Database
    store: IdentityStore
    lifecycle: IdentityLifecycle

    @property
    def bound(self) -> str:
        return f"within {self.settings.revocation_cache_time} s"


def _sub(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, text: str,
         details: str = "") -> argparse.ArgumentParser:
    return sub.add_parser(name, help=text, description=f"{text[0].upper()}{text[1:]}. {details}"
                          .strip())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neutrino-manage", description=DESCRIPTION,
                                     epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config-file", action="append", default=[], metavar="PATH",
                        help="the server's INI files (for [database] connection)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_command",
                                                                     required=True)
    db.add_parser("upgrade", help="create or upgrade the schema to the latest revision")
    db.add_parser("current", help="print the schema revision of the database")
    boot = _sub(sub, "bootstrap", "create the admin user, project and roles (idempotent)")
    boot.add_argument("--admin-user", default="admin")
    boot.add_argument("--admin-password", required=True)
    boot.add_argument("--admin-project", default="admin")
    user = _sub(sub, "user-create", "create a user with a role in a project")
    user.add_argument("name")
    user.add_argument("--password", required=True)
    user.add_argument("--project", required=True, help="project name; created if missing")
    user.add_argument("--role", default="member", help="member, admin or service")
    _sub(sub, "user-list", "list users: name, id, enabled")
    _sub(sub, "user-delete", "delete a user and its role assignments",
         "Its tokens are revoked.").add_argument("user", help=USER_HELP)
    _sub(sub, "user-disable", "disable a user: it can no longer log in",
         "Its tokens are revoked; user-enable lets it log in again (old tokens stay "
         "revoked).").add_argument("user", help=USER_HELP)
    _sub(sub, "user-enable", "enable a disabled or locked-out user",
         "Also clears the count of failed logins ([security_compliance] lockout)."
         ).add_argument("user", help=USER_HELP)
    password = _sub(sub, "user-password", "set a user's password",
                    "Its tokens are revoked, as Keystone does on a password change.")
    password.add_argument("user", help=USER_HELP)
    password.add_argument("--password", required=True, help="the new password")
    for name, text, details in (
        ("role-add", "give a user a role on a project", "A no-op if it has it already."),
        ("role-remove", "take a role on a project from a user",
         "The user's tokens on that project are revoked; its other roles stay and a new "
         "token carries them."),
    ):
        role = _sub(sub, name, text, details)
        role.add_argument("user", help=USER_HELP)
        role.add_argument("--project", required=True, help="project name or id")
        role.add_argument("--role", required=True, help="role name or id (member, admin, "
                                                        "service)")
    _sub(sub, "project-list", "list projects: name, id")
    _sub(sub, "project-delete", "delete a project and every role assignment on it",
         "Every token scoped to it is revoked. Networks, subnets and ports it owns are left "
         "as they are (as Neutron leaves them when Keystone deletes a project)."
         ).add_argument("project", help="project name or id")
    return parser


# ---- commands: each prints one sentence on success ------------------------------------------

def _bootstrap(args: argparse.Namespace, tools: Tools) -> None:
    tools.store.bootstrap(args.admin_user, args.admin_password, args.admin_project)
    print(f"Admin user {args.admin_user} in project {args.admin_project} is ready.")


def _user_create(args: argparse.Namespace, tools: Tools) -> None:
    try:
        tools.store.create_project(args.project)
    except AlreadyExists:
        pass  # users are often added to an existing project
    tools.store.create_user(args.name, args.password, args.project, args.role)
    print(f"User {args.name} created with role {args.role} in project {args.project}.")


def _user_list(_args: argparse.Namespace, tools: Tools) -> None:
    for user in tools.store.list_users():
        print(f"{user.name}\t{user.id}\t{'enabled' if user.enabled else 'disabled'}")


def _user_delete(args: argparse.Namespace, tools: Tools) -> None:
    info = tools.lifecycle.delete_user(args.user)
    print(f"User {info.name} ({info.id}) deleted; its tokens are refused by every server "
          f"{tools.bound}.")


def _user_disable(args: argparse.Namespace, tools: Tools) -> None:
    info = tools.lifecycle.set_user_enabled(args.user, False)
    print(f"User {info.name} ({info.id}) disabled; its tokens are refused by every server "
          f"{tools.bound}.")


def _user_enable(args: argparse.Namespace, tools: Tools) -> None:
    info = tools.lifecycle.set_user_enabled(args.user, True)
    print(f"User {info.name} ({info.id}) enabled; it may log in again.")


def _user_password(args: argparse.Namespace, tools: Tools) -> None:
    info = tools.lifecycle.set_password(args.user, args.password)
    print(f"Password of user {info.name} ({info.id}) changed; its old tokens are refused by "
          f"every server {tools.bound}.")


def _role_add(args: argparse.Namespace, tools: Tools) -> None:
    tools.store.assign_role(args.user, args.project, args.role)
    print(f"User {args.user} has role {args.role} on project {args.project}.")


def _role_remove(args: argparse.Namespace, tools: Tools) -> None:
    tools.lifecycle.remove_role(args.user, args.project, args.role)
    print(f"Role {args.role} of user {args.user} on project {args.project} removed; the "
          f"user's tokens on that project are refused by every server {tools.bound}.")


def _project_list(_args: argparse.Namespace, tools: Tools) -> None:
    for project in tools.store.list_projects():
        print(f"{project.name}\t{project.id}")


def _project_delete(args: argparse.Namespace, tools: Tools) -> None:
    info = tools.lifecycle.delete_project(args.project)
    networks = networks_service.count_in_project(tools.db, info.id)
    left = (f" Its {networks} network(s) remain; delete them with `neutrino net-delete` if "
            "they should go." if networks else "")
    print(f"Project {info.name} ({info.id}) deleted; tokens scoped to it are refused by every "
          f"server {tools.bound}.{left}")


COMMANDS: dict[str, Callable[[argparse.Namespace, Tools], None]] = {
    "bootstrap": _bootstrap, "user-create": _user_create, "user-list": _user_list,
    "user-delete": _user_delete, "user-disable": _user_disable, "user-enable": _user_enable,
    "user-password": _user_password, "role-add": _role_add, "role-remove": _role_remove,
    "project-list": _project_list, "project-delete": _project_delete,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_server_settings(args.config_file)
        log_plan = logs.configure(settings.log, "neutrino-manage")
        if log_plan.stderr and not settings.log.debug:
            # A command's answer is what it prints; on the terminal only problems are logged
            # (a log file, when configured, still gets INFO: migrations run, users made).
            logging.getLogger().setLevel(logging.WARNING)
    except (ConfigError, logs.LogSetupError) as exc:
        print(f"neutrino-manage: {exc}", file=sys.stderr)
        return 2
    # No statement time limit: a migration may rightly run long on a big database.
    db = Database(settings.db_connection, io_timeout=None)
    try:
        if args.command == "db":
            if args.db_command == "upgrade":
                migrate.upgrade(db.engine)
                print(f"Database schema is at revision {migrate.current(db.engine)}.")
            else:
                print(migrate.current(db.engine) or "none")
            return 0
        migrate.check_current(db.engine, settings.db_connection.split("@")[-1])
        revocations = Revocations(db, settings.token_expiration)
        tools = Tools(settings, db, IdentityStore(db), IdentityLifecycle(db, revocations))
        COMMANDS[args.command](args, tools)
        return 0
    except NotFound as exc:
        print(f"neutrino-manage: {exc} neutrino-manage user-list and project-list show what "
              "exists.", file=sys.stderr)
        return 1
    except IdentityError as exc:
        print(f"neutrino-manage: {exc}", file=sys.stderr)
        return 1
    except migrate.SchemaNotCurrent as exc:
        print(f"neutrino-manage: {exc}", file=sys.stderr)
        return 3
    finally:
        db.dispose()


if __name__ == "__main__":
    sys.exit(main())
