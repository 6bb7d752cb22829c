"""neutrino-server: the API, identity, scheduler and agent endpoints in one process."""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from typing import Any

import uvicorn
from fastapi import FastAPI
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.exc import OperationalError

from neutrino import heap, logs
from neutrino.agent_protocol.sibling_wake import wake_dir
from neutrino.api.app import create_app
from neutrino.api.connection_guard import uvicorn_options
from neutrino.config import ConfigError, ServerSettings, load_server_settings
from neutrino.db import migrate
from neutrino.db.session import Database
from neutrino.metrics import listener
from neutrino.metrics.exposition import Exposition
from neutrino.metrics.instruments import (
    forget_earlier_values,
    multiprocess_dir,
    worker_values_dir,
)
from neutrino.services import fleet
from neutrino.tls import uvicorn_ssl_options

LOG = logging.getLogger("neutrino.server")
CONFIG_ENV = "NEUTRINO_CONFIG_FILES"
# How long uvicorn's supervisor waits for a worker to answer its liveness ping before it kills
# the worker and starts another. uvicorn's default (5 s) is shorter than a worker's imports
# take on a busy host (over 20 s was seen at load average 40): every worker was then killed
# while starting, again and again, and the server never served.
WORKER_HEALTHCHECK_TIMEOUT = 60


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="neutrino-server",
        description="Serve the Neutron v2.0 API (networks, subnets, ports, agents, DHCP agent "
                    "scheduling), the identity service and the agents' endpoints.")
    parser.add_argument("--config-file", action="append", default=[], metavar="PATH",
                        help="INI file with Neutron's keys (neutron.conf, plugin .ini); "
                             "repeat for several, later files win")
    return parser.parse_args(argv)


def open_database(settings: ServerSettings) -> Database:
    """Connect, and make sure the schema is current (SQLite all-in-one migrates itself)."""
    db = Database(settings.db_connection, max_retries=settings.db_transaction_retries)
    wait_for_database(db, settings)
    if db.is_sqlite:
        migrate.upgrade(db.engine)
    else:
        migrate.check_current(db.engine, _redacted(settings.db_connection))
    return db


def wait_for_database(db: Database, settings: ServerSettings) -> None:
    """Connect, retrying `[database] max_retries` times `retry_interval` s apart (-1: forever):
    a server started with its database (after a reboot, say) waits instead of dying."""
    attempt = 0
    while True:
        try:
            db.probe()
            return
        except OperationalError as exc:
            attempt += 1
            if 0 <= settings.db_max_retries < attempt:
                raise
            LOG.warning("database %s unreachable (attempt %d): %s; retrying in %d s",
                        _redacted(settings.db_connection), attempt, exc.orig,
                        settings.db_retry_interval)
            time.sleep(settings.db_retry_interval)


def _redacted(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    return f"{scheme}{sep}{creds.split(':')[0]}:***{at}{host}" if at else url


PROGRAM = "neutrino-server"


def app_from_env() -> FastAPI:
    """uvicorn factory for api_workers > 1: each worker rebuilds the app from the config.

    A worker is a fresh (spawned) interpreter: it sets up its own logging from the config,
    or its lines would come out bare and below WARNING not at all."""
    heap.limit_arenas()  # before the request threads start
    paths = [p for p in os.environ.get(CONFIG_ENV, "").split(os.pathsep) if p]
    root = logging.getLogger()
    quiet = logging.NullHandler()
    # The master has already reported what reading the config says (ignored keys, …).
    root.addHandler(quiet)
    try:
        settings = load_server_settings(paths)
    finally:
        root.removeHandler(quiet)
    logs.configure(settings.log, PROGRAM)
    LOG.info("API worker %d started", os.getpid())
    return create_app(settings, open_database(settings))


def tls_options(settings: ServerSettings) -> dict[str, Any]:
    """uvicorn's ssl_* arguments for [DEFAULT] use_ssl (checked by the config loader)."""
    if not settings.use_ssl:
        return {}
    return uvicorn_ssl_options(settings.ssl_cert_file, settings.ssl_key_file,
                           settings.ssl_ca_file or None)


def log_tls(settings: ServerSettings) -> None:
    if not settings.use_ssl:
        LOG.info("serving plain HTTP: set [DEFAULT] use_ssl with [ssl] cert_file and key_file "
                 "for HTTPS (docs/tls.md)")
        return
    LOG.info("serving HTTPS with certificate %s%s", settings.ssl_cert_file,
             f"; client certificates required, verified against {settings.ssl_ca_file}"
             if settings.ssl_ca_file else "")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    heap.limit_arenas()  # before any thread starts: they would each take an arena
    logs.setup_early(PROGRAM)  # before reading the config, so that ignored keys are reported
    try:
        settings = load_server_settings(args.config_file)
        logs.configure(settings.log, PROGRAM)
    except (ConfigError, logs.LogSetupError) as exc:
        print(f"neutrino-server: {exc}", file=sys.stderr)
        return 2
    if settings.transport_url.startswith(("rabbit", "amqp")):
        LOG.info("agents are served over RabbitMQ (transport_url, control_exchange %s) and "
                 "over the HTTP agent endpoints", settings.control_exchange)
    try:
        db = open_database(settings)
    except migrate.SchemaNotCurrent as exc:
        print(f"neutrino-server: {exc}", file=sys.stderr)
        return 3
    except OperationalError as exc:
        print(f"neutrino-server: cannot connect to the database "
              f"{_redacted(settings.db_connection)}: {exc.orig}", file=sys.stderr)
        return 4
    LOG.info("neutrino-server on %s:%d, database %s, agent_down_time %d s, "
             "dhcp_agents_per_network %d, scheduler %s", settings.bind_host, settings.bind_port,
             _redacted(settings.db_connection), settings.agent_down_time,
             settings.dhcp_agents_per_network, settings.network_scheduler_driver)
    log_tls(settings)
    try:
        return serve(settings, db, args.config_file)
    except listener.ListenFailed as exc:
        print(f"neutrino-server: {exc}", file=sys.stderr)
        return 5


def serve(settings: ServerSettings, db: Database, config_files: list[str]) -> int:
    """Run the API (one process, or api_workers workers) until told to stop."""
    if settings.api_workers > 1:
        os.environ[CONFIG_ENV] = os.pathsep.join(os.path.abspath(p) for p in config_files)
        db.dispose()
        with worker_values_dir() as path, wake_dir():
            # The master serves no API; the metrics listener is its, summing the workers'.
            exposition = Exposition(lambda: MultiProcessCollector(None, path),
                                    lambda: fleet.summarize(db, settings))
            with listener.serving(settings, exposition):
                uvicorn.run("neutrino.server:app_from_env", factory=True,
                            host=settings.bind_host, port=settings.bind_port,
                            workers=settings.api_workers, log_config=None,
                            timeout_worker_healthcheck=WORKER_HEALTHCHECK_TIMEOUT,
                            **uvicorn_options(settings), **tls_options(settings))
        return 0
    given = multiprocess_dir()
    if given:  # the operator's PROMETHEUS_MULTIPROC_DIR, one process: this run's values only
        forget_earlier_values(given)
    app = create_app(settings, db)
    with listener.serving(settings, app.state.metrics):
        uvicorn.run(app, host=settings.bind_host, port=settings.bind_port,
                    log_config=None, **uvicorn_options(settings), **tls_options(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
