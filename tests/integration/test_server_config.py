"""neutrino-server as a command: a bad config file stops it with a message, not a traceback."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_server(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "neutrino.server", *args],
                          check=False, capture_output=True, text=True, timeout=60,
                          cwd=REPO)


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_server_command_reports_config_error_and_exits_non_zero(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.conf", "[DEFAULT]\nagent_down_time = soon\n")
    done = run_server("--config-file", path)
    assert done.returncode != 0
    assert path in done.stderr and "[DEFAULT] agent_down_time" in done.stderr
    assert "'soon'" in done.stderr and "an integer >= 1" in done.stderr
    assert "Traceback" not in done.stderr


def test_server_command_names_a_missing_config_file(tmp_path: Path) -> None:
    missing = str(tmp_path / "absent.conf")
    done = run_server("--config-file", missing)
    assert done.returncode != 0 and "absent.conf does not exist" in done.stderr


def test_server_command_rejects_a_bad_vlan_range_in_the_plugin_file(tmp_path: Path) -> None:
    path = write(tmp_path, "linuxbridge_conf.ini",
                 "[vlans]\ntenant_network_type = vlan\nnetwork_vlan_ranges = physnet1:1000:9999\n")
    done = run_server("--config-file", path)
    assert done.returncode != 0
    assert path in done.stderr and "[vlans] network_vlan_ranges" in done.stderr
    assert "4094" in done.stderr and "Traceback" not in done.stderr
