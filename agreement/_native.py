"""The compiled kernels (``agreement/_kernels.c``) when they were built, else None.

Callers look ``kernels`` up at call time and fall back to numpy when it is None; both paths give
identical results (tested). ``AGREEMENT_PURE=1`` in the environment forces the numpy path.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

kernels: ModuleType | None = None
if os.environ.get("AGREEMENT_PURE", "") in ("", "0"):
    try:
        from . import _kernels as kernels  # type: ignore[no-redef]
    except ImportError:  # not built (no compiler at install): numpy fallbacks
        kernels = None


#: glibc ``mallopt`` parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3

#: The arguments of the last :func:`retain_freed_memory` that applied (None: never called), so
#: that worker processes started later apply the same setting (:func:`retained`).
_RETAINED: dict[str, int] | None = None


def retained() -> dict[str, int] | None:
    """The arguments :func:`retain_freed_memory` was applied with in this process, if any."""
    return None if _RETAINED is None else dict(_RETAINED)


def retain_freed_memory(*, keep: int = 256 << 20, mmap_above: int = 32 << 20) -> bool:
    """Let glibc's malloc reuse freed map-sized blocks instead of returning them to the system.

    By default glibc serves each 8 MiB array (one 1024 x 2048 int32 map) with a fresh ``mmap``
    and gives it back on free, so every decoded map pays page faults and the kernel's zeroing
    again (about half of the CPU time of reading a map). A command that reads map after map
    calls this once: blocks up to ``mmap_above`` bytes come from the heap and up to ``keep``
    freed bytes stay there for the next map. Peak memory is unchanged. The runner keeps the
    setting for its passes only (:func:`reusing_freed_memory`): after each, large blocks are
    mapped on their own again and the freed memory is given back. A process-wide setting, so
    the library never calls it (the CLI does); elsewhere than glibc it does nothing.

    Returns
    -------
    bool
        Whether the setting was applied.
    """
    import sys

    try:
        glibc = sys.platform.startswith("linux") and bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (ValueError, OSError):  # pragma: no cover - a libc without the name
        glibc = False
    if not glibc:
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # pragma: no cover - glibc always has it
        return False
    done = bool(mallopt(_M_MMAP_THRESHOLD, mmap_above)) and bool(mallopt(_M_TRIM_THRESHOLD, keep))
    if done:
        global _RETAINED
        _RETAINED = {"keep": keep, "mmap_above": mmap_above}
    return done


#: After a pass: blocks from 4 MiB up are mapped on their own (given back when freed: the
#: study-level steps' large arrays), up to 32 MiB freed at the heap's top are kept. glibc's own
#: 128 KiB for both (fixed once set: its adaptive threshold is off after any ``mallopt``) maps
#: and unmaps every array of the findings' tests: 2.2x their CPU time at 10,000 images.
_AFTER_PASS = {"mmap_above": 4 << 20, "keep": 32 << 20}


_PASSES = 0  # passes running in this process
_PASSES_LOCK = threading.Lock()


@contextmanager
def reusing_freed_memory() -> Iterator[None]:
    """Within: :func:`retain_freed_memory`'s setting, if this process applied it (a pass reads
    map after map); after: large blocks mapped on their own again (:data:`_AFTER_PASS`) and the
    freed memory given back (``malloc_trim``).

    After a pass comes study-level work (tables over every image, bootstraps): a few large
    arrays that, kept in the heap and never given back, would leave the process's resident
    memory at the sum of what each step once needed (docs/engine.md, "Seventh look"). Without
    the setting, nothing changes.
    """
    global _PASSES
    if _RETAINED is None:
        yield
        return
    with _PASSES_LOCK:  # passes in several threads: applied by the first, given back by the last
        _PASSES += 1
        if _PASSES == 1:
            retain_freed_memory(**_RETAINED)
    try:
        yield
    finally:
        with _PASSES_LOCK:
            _PASSES -= 1
            if _PASSES == 0:
                _give_back()


def _give_back() -> None:
    import ctypes

    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, _AFTER_PASS["mmap_above"])
        libc.mallopt(_M_TRIM_THRESHOLD, _AFTER_PASS["keep"])
        libc.malloc_trim(0)
    except (OSError, AttributeError, TypeError):  # pragma: no cover - applied: glibc has them
        pass
