"""The fast DATETIME decoder answers exactly as PyMySQL's own parser does."""
from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pymysql import converters
from pymysql.constants import FIELD_TYPE

from neutrino.db.pymysql_decoders import conversions, decode_datetime


@given(st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31)),
       st.booleans())
def test_mysql_datetime_text_decodes_as_pymysql_does(value: datetime, as_bytes: bool) -> None:
    # MariaDB sends DATETIME(6) with all six digits, DATETIME(0) with none.
    for text in (value.strftime("%Y-%m-%d %H:%M:%S.%f"), value.strftime("%Y-%m-%d %H:%M:%S")):
        sent = text.encode() if as_bytes else text
        assert decode_datetime(sent) == converters.convert_datetime(sent)


@pytest.mark.parametrize("text", [
    "0000-00-00 00:00:00", "2007-02-31 23:06:20", "2007-02-25", "2007-02-25T23:06:20",
    "2007-02-25 23:06:20.5", "2007-02-25 23:06:20+01:00", "2007-02-25 23:06:20.123+01",
    "2007-02-25T23:06+01",
    "garbage text here!!", ""])
def test_odd_values_keep_pymysqls_answer(text: str) -> None:
    assert decode_datetime(text) == converters.convert_datetime(text)


def test_conversions_replace_only_the_datetime_decoders() -> None:
    conv = conversions()
    assert conv[FIELD_TYPE.DATETIME] is decode_datetime
    assert conv[FIELD_TYPE.TIMESTAMP] is decode_datetime
    changed = {k for k in converters.conversions if conv[k] is not converters.conversions[k]}
    assert changed == {FIELD_TYPE.DATETIME, FIELD_TYPE.TIMESTAMP}
