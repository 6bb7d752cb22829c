"""Logging of every Neutrino process: Neutron's [DEFAULT] log options -> a plan -> handlers.

`plan()` is the rule (pure, tested with plain data); `configure()` applies it to the root
logger. Each process calls `configure()` once its settings are read, and so does each API
worker: uvicorn starts workers with the spawn method, so nothing set up in the master
reaches them (docs/operations.md, "Logging").
"""
from __future__ import annotations

import logging
import logging.handlers
import os
import re
from dataclasses import dataclass

# Neutron's (oslo.log's) shape: time, pid, level, logger; the pid tells API workers apart.
FORMAT = "%(asctime)s.%(msecs)03d %(process)d %(levelname)s %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
# A line of FORMAT, for tests and log readers: time, pid, level, logger, message.
LINE_PATTERN = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (?P<pid>\d+) "
    r"(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL) (?P<logger>[\w.]+): (?P<message>.*)$",
    re.MULTILINE)
# syslog and journald stamp the time themselves; the program and pid make the tag.
SYSLOG_FORMAT = "{program}[%(process)d]: %(levelname)s %(name)s: %(message)s"
SYSLOG_SOCKET = "/dev/log"
DEFAULT_FACILITY = "LOG_USER"
# Marks the handlers configure() installed, so that a second call replaces exactly those.
OWNED_MARK = "_neutrino_log_handler"


class LogSetupError(Exception):
    """A log destination cannot be opened; the message names it."""


@dataclass(frozen=True)
class LogOptions:
    """Neutron's [DEFAULT] logging keys, as read from the config files."""

    debug: bool = False
    log_file: str = ""
    log_dir: str = ""
    use_syslog: bool = False
    syslog_log_facility: str = DEFAULT_FACILITY


@dataclass(frozen=True)
class LogPlan:
    """What one process logs and where: a level, and one or more destinations."""

    level: int
    file: str | None  # path of the log file, None: no file
    stderr: bool
    syslog_facility: int | None  # SysLogHandler facility, None: no syslog


def parse_facility(raw: str) -> str:
    """`LOG_USER`, `LOG_LOCAL0`…, or `user`, `local0`… (oslo.log accepts both); ValueError
    listing the allowed names otherwise."""
    name = raw.strip()
    short = name.lower().removeprefix("log_")
    if short not in logging.handlers.SysLogHandler.facility_names:
        allowed = ", ".join(sorted("LOG_" + n.upper()
                                   for n in logging.handlers.SysLogHandler.facility_names))
        raise ValueError(f"a syslog facility: one of {allowed}")
    return "LOG_" + short.upper()


def log_path(options: LogOptions, program: str) -> str | None:
    """Neutron's rule: log_file, under log_dir when relative; log_dir alone: <program>.log."""
    if options.log_file:
        if options.log_dir and not os.path.isabs(options.log_file):
            return os.path.join(options.log_dir, options.log_file)
        return options.log_file
    if options.log_dir:
        return os.path.join(options.log_dir, program + ".log")
    return None


def plan(options: LogOptions, program: str) -> LogPlan:
    """The level and destinations the options ask for; stderr when no file is configured
    (under systemd that is the journal)."""
    path = log_path(options, program)
    facility = None
    if options.use_syslog:
        short = parse_facility(options.syslog_log_facility).lower().removeprefix("log_")
        facility = logging.handlers.SysLogHandler.facility_names[short]
    return LogPlan(level=logging.DEBUG if options.debug else logging.INFO, file=path,
                   stderr=path is None, syslog_facility=facility)


def handlers(log_plan: LogPlan, program: str) -> list[logging.Handler]:
    """Open the destinations of a plan; LogSetupError naming the one that fails."""
    made: list[logging.Handler] = []
    formatter = logging.Formatter(FORMAT, DATE_FORMAT)
    if log_plan.file is not None:
        try:
            # Watched: logrotate may move the file away; the next line reopens it.
            made.append(logging.handlers.WatchedFileHandler(log_plan.file, encoding="utf-8"))
        except OSError as exc:
            raise LogSetupError(f"cannot open the log file {log_plan.file}: "
                                f"{exc.strerror or exc}") from None
    if log_plan.stderr:
        made.append(logging.StreamHandler())
    for handler in made:
        handler.setFormatter(formatter)
    if log_plan.syslog_facility is not None:
        try:
            syslog = logging.handlers.SysLogHandler(SYSLOG_SOCKET, log_plan.syslog_facility)
        except OSError as exc:
            for handler in made:
                handler.close()
            raise LogSetupError(f"cannot reach syslog at {SYSLOG_SOCKET}: "
                                f"{exc.strerror or exc}") from None
        syslog.setFormatter(logging.Formatter(SYSLOG_FORMAT.format(program=program)))
        made.append(syslog)
    return made


def configure(options: LogOptions, program: str) -> LogPlan:
    """Point the root logger at the destinations the options ask for, replacing what an
    earlier call set up (and only that: a host process's own handlers stay); returns the plan
    applied."""
    log_plan = plan(options, program)
    new = handlers(log_plan, program)
    root = logging.getLogger()
    for old in root.handlers[:]:
        if getattr(old, OWNED_MARK, False):
            root.removeHandler(old)
            old.close()
    for handler in new:
        setattr(handler, OWNED_MARK, True)
        root.addHandler(handler)
    root.setLevel(log_plan.level)
    # Per-request access lines drown the events operators care about.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    return log_plan


def setup_early(program: str) -> None:
    """Before the config is read: INFO to stderr, so that what reading it reports is seen."""
    configure(LogOptions(), program)
