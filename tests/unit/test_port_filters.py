"""The fixed_ips list filter: parsing of `key=value` texts (plain data)."""
from __future__ import annotations

import pytest

from neutrino.errors import InvalidInput
from neutrino.services import port_filters
from neutrino.services.port_filters import FixedIpFilter


def test_values_of_one_key_accumulate_and_keys_are_kept_apart() -> None:
    assert port_filters.parse(["ip_address=10.0.0.3", "subnet_id=s1", "ip_address=10.0.0.4",
                               "ip_address_substr=0.0."]) == FixedIpFilter(
        ip_addresses=("10.0.0.3", "10.0.0.4"), subnet_ids=("s1",), substrings=("0.0.",))
    assert port_filters.condition(FixedIpFilter()) is None
    assert port_filters.parse(["ip_address=FD00:0::5", "ip_address=nope"]).ip_addresses == (
        "fd00::5", "nope")


@pytest.mark.parametrize("text", ["10.0.0.3", "mac=fa:16:3e:00:00:01", "=x",
                                  "subnet_id=" + "a" * 65])
def test_malformed_or_unknown_forms_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        port_filters.parse([text])


def test_too_many_values_are_refused() -> None:
    with pytest.raises(InvalidInput):
        port_filters.parse(["ip_address=10.0.0.1"] * (port_filters.MAX_VALUES + 1))


def test_substring_wildcards_are_literal() -> None:
    where = port_filters.condition(FixedIpFilter(substrings=("1_%",)))
    assert where is not None
    assert "1\\_\\%" in str(where.compile(compile_kwargs={"literal_binds": True}))
