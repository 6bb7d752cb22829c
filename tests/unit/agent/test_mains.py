from __future__ import annotations

from pathlib import Path

import pytest

from neutrino.agent import dhcp_main, linuxbridge_main


@pytest.mark.parametrize("main", [dhcp_main.main, linuxbridge_main.main])
def test_rabbit_url_without_a_broker_exits_non_zero_with_the_fix(
        main: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "neutron.conf"
    conf.write_text("[DEFAULT]\ntransport_url = rabbit://guest:openstack@/\n")
    assert main(["--config-file", str(conf)]) == 2  # type: ignore[operator]
    err = capsys.readouterr().err
    assert "[DEFAULT] transport_url" in err and "rabbit://user:pass@host:port/" in err


def test_bad_value_names_file_and_key(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "dhcp_agent.ini"
    conf.write_text("[DEFAULT]\ntransport_url = http://a:b@c:9696/\n"
                    "interface_driver = openvswitch\n")
    assert dhcp_main.main(["--config-file", str(conf)]) == 2
    err = capsys.readouterr().err
    assert str(conf) in err and "[DEFAULT] interface_driver" in err


def test_missing_config_file_exits_non_zero(tmp_path: Path) -> None:
    assert dhcp_main.main(["--config-file", str(tmp_path / "nope.ini")]) == 2
