"""The compiled kernels (``agreement/_kernels.c``) when they were built, else None.

Callers look ``kernels`` up at call time and fall back to numpy when it is None; both paths give
identical results (tested). ``AGREEMENT_PURE=1`` in the environment forces the numpy path.
"""

from __future__ import annotations

import os
from types import ModuleType

kernels: ModuleType | None = None
if os.environ.get("AGREEMENT_PURE", "") in ("", "0"):
    try:
        from . import _kernels as kernels  # type: ignore[no-redef]
    except ImportError:  # not built (no compiler at install): numpy fallbacks
        kernels = None
