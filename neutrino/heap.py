"""Give the heap that a large response freed back to the operating system.

A listing of 10,000 networks builds some 25 MiB of objects for a moment; once they are
freed, glibc keeps most of those pages mapped for the process (and per thread arena), so
a worker's RSS stays at its highest peak for good: 147 MiB instead of about 100 with 2,000
agents and 10,000 networks (bench/worker_memory.py). malloc_trim(0) returns the free
pages; it takes a few milliseconds and the server calls it from a housekeeping loop.
Elsewhere than glibc it does nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable

LOG = logging.getLogger(__name__)


def _malloc_trim() -> Callable[[], None] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int

    def release() -> None:
        trim(0)  # 0: keep no padding at the top of the heap

    return release


TRIM = _malloc_trim()


def release_free_heap() -> None:
    """Return free heap pages to the operating system, where the C library can."""
    if TRIM is not None:
        TRIM()
