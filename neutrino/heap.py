"""Give the heap that a large response freed back to the operating system.

A listing of 10,000 networks builds some 25 MiB of objects for a moment; once they are
freed, glibc keeps most of those pages mapped for the process (and per thread arena), so
a worker's RSS stays at its highest peak for good: 147 MiB instead of about 100 with 2,000
agents and 10,000 networks (bench/worker_memory.py). malloc_trim(0) returns the free
pages; it takes a few milliseconds and the server calls it from a housekeeping loop.
Elsewhere than glibc it does nothing.

glibc also gives each thread that allocates its own arena, up to 8 per core; the threads
that run requests (anyio's pool) each keep their freed chunks there, so a worker's heap is
spread over many arenas. `limit_arenas` caps them at two (what MALLOC_ARENA_MAX=2 would do),
unless the operator set MALLOC_ARENA_MAX.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
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
# mallopt's parameter number for the arena cap (glibc's malloc.h M_ARENA_MAX).
M_ARENA_MAX = -8
ARENAS = 2


def limit_arenas() -> None:
    """Cap glibc's malloc arenas at ARENAS for threads started from now on; call it before
    the server starts threads. MALLOC_ARENA_MAX in the environment wins."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    name = ctypes.util.find_library("c")
    if name is None:
        return
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # not glibc: its own allocator, nothing to set
        return
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    if mallopt(M_ARENA_MAX, ARENAS) != 1:  # 1 is success
        LOG.debug("mallopt(M_ARENA_MAX, %d) refused", ARENAS)


def release_free_heap() -> None:
    """Return free heap pages to the operating system, where the C library can."""
    if TRIM is not None:
        TRIM()
