"""Per-image table rows kept as column arrays while a pass runs (a DataFrame is built once)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pandas is imported where a table is built
    import pandas as pd

__all__ = ["Rows", "categorical"]


def categorical(values: Any, categories: Sequence[str]) -> Any:
    """``values`` as a categorical over ``categories`` (compact), or as plain objects when a
    category is a name that is not valid UTF-8 (a file name of undecodable bytes: pandas hashes
    categories as UTF-8 and would fail on it)."""
    import pandas as pd

    cats = list(categories)
    try:
        for c in cats:
            if isinstance(c, str):
                c.encode("utf-8")
    except UnicodeEncodeError:
        return np.asarray(values, dtype=object)
    return pd.Categorical(values, categories=cats)


@dataclass
class Rows:
    """Blocks of rows, each a mapping of column -> array (or a scalar repeated over the block).

    ``a + b`` appends ``b``'s blocks after ``a``'s (image order); :meth:`packed` concatenates the
    blocks into one (what a chunk sends back); :meth:`frame` builds the DataFrame.
    """

    blocks: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    @classmethod
    def of(cls, n: int, **columns: Any) -> Rows:
        """One block of ``n`` rows (no block when ``n`` is 0)."""
        return cls([(int(n), columns)] if n else [])

    @classmethod
    def concat(cls, parts: Sequence[Rows]) -> Rows:
        """Several row sets, one after the other."""
        return cls([b for p in parts for b in p.blocks])

    def __add__(self, other: Rows) -> Rows:
        return Rows(self.blocks + other.blocks)

    def __len__(self) -> int:
        return sum(n for n, _ in self.blocks)

    def _column(self, name: str, dtype: Any) -> np.ndarray:
        arrays = [_repeat(v, n, dtype) if np.ndim(v) == 0 else np.asarray(v, dtype=dtype)
                  for n, cols in self.blocks for v in (cols[name],)]
        return np.concatenate(arrays) if arrays else np.zeros(0, dtype)

    def packed(self, dtypes: Mapping[str, Any], *, always: bool = False) -> Rows:
        """The rows as one block of arrays (fewer, larger objects to send and keep);
        ``always``: even a single block is made of arrays of ``dtypes``."""
        if len(self.blocks) <= 1 and not (always and self.blocks):
            return self
        return Rows.of(len(self), **{c: self._column(c, d) for c, d in dtypes.items()})

    def frame(self, dtypes: Mapping[str, Any],
              categories: Mapping[str, Sequence[str]] | None = None) -> pd.DataFrame:
        """The DataFrame: one column per entry of ``dtypes`` (``object`` columns listed in
        ``categories`` become categoricals over the given categories, in that order)."""
        import pandas as pd

        cats = categories or {}
        out = {}
        for name, dtype in dtypes.items():
            col = self._column(name, dtype)
            out[name] = categorical(col, cats[name]) if name in cats else col
        return pd.DataFrame(out)


def _repeat(value: Any, n: int, dtype: Any) -> np.ndarray:
    """``value`` repeated ``n`` times; an object column holds ``n`` references to the one value
    (``np.full`` would make ``n`` copies of a string: ~50 bytes per row of an image name)."""
    if np.dtype(dtype) == object:
        out = np.empty(n, object)
        out.fill(value)
        return out
    return np.full(n, value, dtype=dtype)
