"""Neutron's [DEFAULT] log options -> level and destinations (neutrino.logs.plan), and the
config keys that feed it."""
from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

import pytest

from neutrino import logs
from neutrino.config import SERVER_OPTS, ConfigError, IniFiles, load_options, log_options
from neutrino.logs import LogOptions, plan


def options_from(default: dict[str, str]) -> LogOptions:
    return log_options(load_options(SERVER_OPTS, IniFiles.from_dict({"DEFAULT": default})))


def test_debug_switches_the_level_between_info_and_debug() -> None:
    assert plan(options_from({}), "neutrino-server").level == logging.INFO
    assert plan(options_from({"debug": "True"}), "neutrino-server").level == logging.DEBUG


def test_without_log_file_lines_go_to_stderr_only() -> None:
    chosen = plan(options_from({}), "neutrino-server")
    assert (chosen.file, chosen.stderr, chosen.syslog_facility) == (None, True, None)


@pytest.mark.parametrize(("keys", "path"), [
    ({"log_file": "/var/log/neutrino/server.log"}, "/var/log/neutrino/server.log"),
    ({"log_file": "server.log", "log_dir": "/var/log/n"}, "/var/log/n/server.log"),
    ({"log_file": "/abs/s.log", "log_dir": "/var/log/n"}, "/abs/s.log"),
    ({"log_dir": "/var/log/n"}, "/var/log/n/neutrino-server.log"),
])
def test_log_file_and_log_dir_name_the_file_instead_of_stderr(keys: dict[str, str],
                                                               path: str) -> None:
    chosen = plan(options_from(keys), "neutrino-server")
    assert (chosen.file, chosen.stderr) == (path, False)


@pytest.mark.parametrize(("facility", "number"), [
    ("LOG_USER", logging.handlers.SysLogHandler.LOG_USER),
    ("LOG_LOCAL3", logging.handlers.SysLogHandler.LOG_LOCAL3),
    ("daemon", logging.handlers.SysLogHandler.LOG_DAEMON),
])
def test_use_syslog_chooses_syslog_with_the_facility(facility: str, number: int) -> None:
    chosen = plan(options_from({"use_syslog": "True", "syslog_log_facility": facility}), "x")
    assert chosen.syslog_facility == number
    assert plan(options_from({"syslog_log_facility": facility}), "x").syslog_facility is None


def test_unknown_syslog_facility_is_refused_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"syslog_log_facility = 'LOG_NOPE'.*LOG_LOCAL0"):
        options_from({"syslog_log_facility": "LOG_NOPE"})


def test_configure_writes_formatted_lines_to_the_file_and_replaces_its_own_handlers(
        tmp_path: Path) -> None:
    root = logging.getLogger()
    # A host's (pytest's) handlers; an earlier in-process main may have left ours too.
    before = [h for h in root.handlers if not getattr(h, logs.OWNED_MARK, False)]
    level = root.level
    try:
        logs.configure(LogOptions(log_file=str(tmp_path / "a.log")), "t")
        logs.configure(LogOptions(log_file=str(tmp_path / "b.log"), debug=True), "t")
        logging.getLogger("neutrino.test").debug("network n1 moved")
        # Only the second call's handler remains; a host's (pytest's) handlers stay.
        assert [h for h in root.handlers if h not in before][0].baseFilename == str(
            tmp_path / "b.log")  # type: ignore[attr-defined]
        assert all(h in root.handlers for h in before)
    finally:
        for handler in [h for h in root.handlers if h not in before]:
            # Left behind, it would write into later tests' captured stderr.
            root.removeHandler(handler)
            handler.close()
        root.setLevel(level)
    assert (tmp_path / "a.log").read_text() == ""
    line = (tmp_path / "b.log").read_text()
    assert logs.LINE_PATTERN.match(line), line
    assert " DEBUG neutrino.test: network n1 moved" in line


def test_unopenable_log_file_is_a_setup_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "missing-dir" / "s.log"
    with pytest.raises(logs.LogSetupError, match=str(path)):
        logs.handlers(plan(LogOptions(log_file=str(path)), "t"), "t")
