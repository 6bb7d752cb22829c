"""PyMySQL's decoders with DATETIME parsed in C, for every MySQL/MariaDB connection.

PyMySQL parses each DATETIME with a regular expression and int() per field in Python; a
list of 4,000 agents carries 12,000 of them, which made that parsing a fifth of the whole
request on MariaDB. datetime.fromisoformat reads MySQL's "YYYY-MM-DD HH:MM:SS[.ffffff]"
directly; whatever it refuses (zero dates, out-of-range days) goes to PyMySQL's own
parser, which keeps its answers (the text itself for an illegal value).
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pymysql import converters
from pymysql.constants import FIELD_TYPE


def decode_datetime(value: str | bytes | bytearray) -> datetime | date | str:
    """A DATETIME or TIMESTAMP column's text as PyMySQL's convert_datetime returns it."""
    text = value.decode("ascii") if isinstance(value, bytes | bytearray) else value
    # MySQL sends "YYYY-MM-DD HH:MM:SS", with ".ffffff" for DATETIME(6). fromisoformat
    # also takes shorter or offset forms that PyMySQL refuses: those stay on its path.
    if text[13:14] == ":" and text[16:17] == ":" and (
            len(text) == 19 or (len(text) == 26 and text[19] == "." and text[20:].isdigit())):
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    result: datetime | date | str = converters.convert_datetime(text)
    return result


def conversions() -> dict[Any, Any]:
    """PyMySQL's default `conv` (encoders and decoders) with decode_datetime in place."""
    conv = dict(converters.conversions)
    conv[FIELD_TYPE.DATETIME] = decode_datetime
    conv[FIELD_TYPE.TIMESTAMP] = decode_datetime
    return conv
