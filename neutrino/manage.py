"""neutrino-manage: schema upgrades and identity administration."""
from __future__ import annotations

import argparse
import sys

from neutrino.config import ConfigError, load_server_settings
from neutrino.db import migrate
from neutrino.db.session import Database
from neutrino.identity.errors import AlreadyExists, IdentityError
from neutrino.identity.store import IdentityStore


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neutrino-manage",
                                     description="Administer a Neutrino deployment.")
    parser.add_argument("--config-file", action="append", default=[], metavar="PATH",
                        help="the server's INI files (for [database] connection)")
    sub = parser.add_subparsers(dest="command", required=True)
    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_command",
                                                                     required=True)
    db.add_parser("upgrade", help="create or upgrade the schema to the latest revision")
    db.add_parser("current", help="print the schema revision of the database")
    boot = sub.add_parser("bootstrap", help="create the admin user, project and roles "
                                            "(idempotent)")
    boot.add_argument("--admin-user", default="admin")
    boot.add_argument("--admin-password", required=True)
    boot.add_argument("--admin-project", default="admin")
    user = sub.add_parser("user-create", help="create a user with a role in a project")
    user.add_argument("name")
    user.add_argument("--password", required=True)
    user.add_argument("--project", required=True, help="project name; created if missing")
    user.add_argument("--role", default="member", help="member, admin or service")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_server_settings(args.config_file)
    except ConfigError as exc:
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
        store = IdentityStore(db)
        if args.command == "bootstrap":
            store.bootstrap(args.admin_user, args.admin_password, args.admin_project)
            print(f"Admin user {args.admin_user} in project {args.admin_project} is ready.")
        elif args.command == "user-create":
            try:
                store.create_project(args.project)
            except AlreadyExists:
                pass  # users are often added to an existing project
            store.create_user(args.name, args.password, args.project, args.role)
            print(f"User {args.name} created with role {args.role} in project {args.project}.")
        return 0
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
