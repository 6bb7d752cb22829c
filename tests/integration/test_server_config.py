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


def test_server_on_an_unmigrated_database_says_what_to_run(tmp_path: Path) -> None:
    from tests.support.databases import fresh_database

    with fresh_database("postgresql", str(tmp_path)) as url:
        path = write(tmp_path, "neutron.conf",
                     f"[DEFAULT]\nbind_port = 1\n[database]\nconnection = {url}\n")
        done = run_server("--config-file", path)
    assert done.returncode == 3
    assert "has no Neutrino schema" in done.stderr
    assert "neutrino-manage --config-file" in done.stderr and "db upgrade" in done.stderr


def test_seed_controller_files_start_the_server_and_report_unused_keys(tmp_path: Path) -> None:
    """The seed's neutron.conf and linuxbridge_conf.ini, unchanged but for the database."""
    from tests.support.databases import fresh_database

    with fresh_database("mariadb", str(tmp_path)) as url:
        # The seed writes mysql://root:root@…; ours has no password, same mysql:// form.
        seed_url = url.replace("mysql+pymysql://", "mysql://")
        neutron = write(tmp_path, "neutron.conf", (
            "[DEFAULT]\ncore_plugin = neutron.plugins.linuxbridge.lb_neutron_plugin."
            "LinuxBridgePluginV2\nrabbit_host = controlnode\nallow_overlapping_ips = True\n"
            "host = controlnode\nagent_down_time = 5\n"))
        plugin = write(tmp_path, "linuxbridge_conf.ini", (
            "[vlans]\ntenant_network_type = vlan\nnetwork_vlan_ranges = physnet1:1000:2999\n"
            f"[database]\nconnection = {seed_url}\nretry_interval = 2\n"
            "[linux_bridge]\nphysical_interface_mappings = physnet1:eth0\n"))
        subprocess.run([sys.executable, "-m", "neutrino.manage", "--config-file", neutron,
                        "--config-file", plugin, "db", "upgrade"], check=True, cwd=REPO,
                       capture_output=True)
        # Once it logs its settings the server is past config and schema checks: stop it.
        proc = subprocess.Popen([sys.executable, "-m", "neutrino.server", "--config-file",
                                 neutron, "--config-file", plugin], cwd=REPO,
                                stderr=subprocess.PIPE, text=True)
        lines: list[str] = []
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if "neutrino-server on" in line or "Traceback" in line:
                break
        proc.terminate()
        proc.wait(10)
    log = "".join(lines)
    assert "neutrino-server on 0.0.0.0:9696" in log, log
    assert "agent_down_time 5 s" in log
    assert "[DEFAULT] core_plugin" in log and "[linux_bridge] physical_interface_mappings" in log
