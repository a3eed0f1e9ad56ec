"""Per-image table rows kept as column arrays while a pass runs (a DataFrame is built once)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..io._blocks import BlockFile

if TYPE_CHECKING:  # pandas is imported where a table is built
    import pandas as pd

__all__ = ["SPILL_ROWS", "Columns", "Rows", "SpilledBlock", "SpilledFrame", "categorical",
           "column_of", "frame_of", "spill_frame", "spilled", "unspilled"]

#: Rows of a growing table kept in memory before they are written to a temporary file as one
#: block (:func:`spilled`): ~4 MB of the PQ pass's count rows.
SPILL_ROWS = 1 << 16


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


class SpilledBlock(Mapping[str, Any]):
    """A block's columns written to a :class:`~agreement.io._blocks.BlockFile`, each read back
    (one ``pread``) when asked for, read-only; the same arrays. Scalar and object columns, and
    any column the file refused, stay in memory. It pickles as the plain dict of its columns
    (read back)."""

    __slots__ = ("_columns", "_file")

    def __init__(self, file: BlockFile, columns: Mapping[str, Any]) -> None:
        self._file = file
        self._columns: dict[str, Any] = {}
        for name, value in columns.items():
            at = None
            if isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind in "biuf":
                value = np.ascontiguousarray(value)  # numbers only (an object column's are
                at = file.put(value)  # pointers)
            self._columns[name] = value if at is None else (value.dtype, value.size, at)

    def __getitem__(self, name: str) -> Any:
        value = self._columns[name]
        if not isinstance(value, tuple):
            return value
        dtype, size, at = value
        return np.frombuffer(self._file.get(at, size * dtype.itemsize), dtype)

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)

    def __reduce__(self) -> Any:
        return dict, (dict(self.items()),)


class SpilledFrame:
    """A DataFrame kept in a temporary file: each column of numbers (numpy integers, floats,
    booleans; a categorical's codes, its categories kept in memory) written once, other columns
    (objects, pandas' own types) kept as they are; :meth:`frame` builds the same frame again
    (same columns, dtypes, index and values), :meth:`column` one column's values. Built by
    :func:`spill_frame` for frames of at least :data:`SPILL_ROWS` rows with distinct column
    names."""

    __slots__ = ("_block", "_dtypes", "_index", "n")

    def __init__(self, frame: pd.DataFrame) -> None:
        import pandas as pd

        self.n = len(frame)
        index = frame.index
        plain = (isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1
                 and index.name is None)
        self._index = None if plain else index
        self._dtypes = dict(frame.dtypes)
        columns = {}
        for name in frame.columns:
            col = frame[name]
            if isinstance(col.dtype, pd.CategoricalDtype):
                columns[name] = col.cat.codes.to_numpy()
            elif isinstance(col.dtype, np.dtype) and col.dtype.kind in "biuf":
                columns[name] = col.to_numpy()
            else:  # kept in memory as it is (SpilledBlock keeps what is not an ndarray)
                columns[name] = col.array
        self._block = SpilledBlock(BlockFile(), columns)

    @property
    def columns(self) -> list[str]:
        """The frame's column names."""
        return list(self._dtypes)

    def column(self, name: str) -> Any:
        """One column: an array, or a Categorical for a categorical column."""
        import pandas as pd

        values, dtype = self._block[name], self._dtypes[name]
        if isinstance(dtype, pd.CategoricalDtype):
            return pd.Categorical.from_codes(values, dtype=dtype)
        return values

    def frame(self) -> pd.DataFrame:
        """The frame (a new one at each call)."""
        import pandas as pd

        index = pd.RangeIndex(self.n) if self._index is None else self._index
        # a dict of Series is copied once, into writable columns
        return pd.DataFrame({name: pd.Series(self.column(name), dtype=dtype, index=index,
                                             copy=False)
                             for name, dtype in self._dtypes.items()}, index=index)


def spill_frame(frame: Any, *, limit: int | None = None) -> Any:
    """``frame`` as a :class:`SpilledFrame` when it has at least ``limit`` rows
    (:data:`SPILL_ROWS`) and a temporary file takes it; otherwise ``frame`` itself (None too)."""
    limit = SPILL_ROWS if limit is None else limit
    if frame is None or len(frame) < limit or not frame.columns.is_unique:
        return frame
    out = SpilledFrame(frame)
    return frame if out._block._file.failed else out


def frame_of(held: Any) -> Any:
    """The DataFrame of ``held``: a :class:`SpilledFrame`'s built again, a frame (or None) as
    it is."""
    return held.frame() if isinstance(held, SpilledFrame) else held


def column_of(held: Any, name: str) -> Any:
    """One column of a DataFrame or of a :class:`SpilledFrame` (read alone from its file)."""
    return held.column(name) if isinstance(held, SpilledFrame) else held[name]


def unspilled(blocks: Sequence[tuple[int, Any]]) -> int:
    """Where the blocks after the last :class:`SpilledBlock` start (those still in memory)."""
    k = len(blocks)
    while k and not isinstance(blocks[k - 1][1], SpilledBlock):
        k -= 1
    return k


def spilled(rows: Rows, dtypes: Mapping[str, Any], *, limit: int | None = None) -> Rows:
    """``rows`` with its blocks after the last spilled one written to a temporary file as one
    block once they hold at least ``limit`` rows (:data:`SPILL_ROWS`): a growing table keeps
    at most ``limit`` rows in memory. Blocks already spilled are never joined or written again
    (the file of the last one is reused), so each row is written once; row order is kept."""
    limit = SPILL_ROWS if limit is None else limit
    blocks = rows.blocks
    k = unspilled(blocks)
    tail = blocks[k:]
    if sum(n for n, _ in tail) < limit:
        return rows
    last = blocks[k - 1][1]._file if k else None
    if last is not None and last.failed:  # the disk failed once: the rows stay in memory
        return rows
    file = last if last is not None and last.writable else BlockFile()  # a forked copy: its own
    if file.failed:  # no os.pwrite
        return rows
    joined = Rows(tail).packed(dtypes, always=True).blocks[0]
    return Rows([*blocks[:k], (joined[0], SpilledBlock(file, joined[1]))])


def _repeat(value: Any, n: int, dtype: Any) -> np.ndarray:
    """``value`` repeated ``n`` times; an object column holds ``n`` references to the one value
    (``np.full`` would make ``n`` copies of a string: ~50 bytes per row of an image name)."""
    if np.dtype(dtype) == object:
        out = np.empty(n, object)
        out.fill(value)
        return out
    return np.full(n, value, dtype=dtype)


class Columns:
    """Rows appended chunk by chunk into one growing buffer per column, kept compact.

    Object columns are kept as integer codes into the distinct values seen so far (in order of
    appearance; the values must be hashable), integer columns in the narrowest integer type of
    their kind that holds every value so far (a later, larger value widens the buffer), other
    columns in their dtype. :meth:`frame` and :meth:`column` give the columns back in
    ``dtypes``. Buffers grow by half when full (a few reallocations, no block per chunk), and a
    pickled table carries only its rows.

    Parameters
    ----------
    dtypes : mapping of str to dtype
        The columns, in order, and their types.

    Examples
    --------
    >>> t = Columns({"image": object, "count": np.int64})
    >>> t.extend(Rows.of(2, image="a.png", count=np.array([3, 500])))
    >>> t.extend(Rows.of(1, image="b.png", count=7))
    >>> t.column("image").tolist(), t.column("count").tolist(), t.codes["count"].dtype
    (['a.png', 'a.png', 'b.png'], [3, 500, 7], dtype('int16'))
    >>> t.values("image").tolist(), t.codes["image"].tolist()
    (['a.png', 'b.png'], [0, 0, 1])
    """

    def __init__(self, dtypes: Mapping[str, Any]) -> None:
        self.dtypes = {c: np.dtype(d) for c, d in dtypes.items()}
        self.n = 0
        self._data = {c: np.zeros(0, _start(d)) for c, d in self.dtypes.items()}
        self._values: dict[str, dict[Any, int]] = {c: {} for c, d in self.dtypes.items()
                                                    if d.kind == "O"}

    def __len__(self) -> int:
        return self.n

    @property
    def codes(self) -> dict[str, np.ndarray]:
        """The stored columns (object columns as their codes), ``n`` rows each."""
        return {c: b[:self.n] for c, b in self._data.items()}

    def extend(self, rows: Rows) -> None:
        """Append ``rows`` (each block's column a scalar or an array; an object column's a
        value, a list or an array of values)."""
        n = len(rows)
        if not n:
            return
        for name, dtype in self.dtypes.items():
            if dtype.kind == "O":
                col = np.concatenate([self._encode(name, v, k) for k, cols in rows.blocks
                                      for v in (cols[name],)])
            else:
                col = rows._column(name, dtype)
            self._put(name, col)
        self.n += n

    def _encode(self, name: str, value: Any, n: int) -> np.ndarray:
        seen = self._values[name]
        if not isinstance(value, list | np.ndarray):  # one value for the block
            return np.full(n, seen.setdefault(value, len(seen)), np.int64)
        values = value.tolist() if isinstance(value, np.ndarray) else value  # Python scalars
        return np.fromiter((seen.setdefault(v, len(seen)) for v in values), np.int64, count=n)

    def _put(self, name: str, col: np.ndarray) -> None:
        buf = self._data[name]
        dtype = _fitting(buf.dtype, col)
        end = self.n + col.size
        if end > buf.size or dtype != buf.dtype:
            size = buf.size if end <= buf.size else max(end, buf.size * 3 // 2, 256)
            grown = np.empty(size, dtype)
            grown[:self.n] = buf[:self.n]
            self._data[name] = buf = grown
        buf[self.n:end] = col

    def column(self, name: str) -> np.ndarray:
        """The column in its dtype (object columns: their values)."""
        stored = self._data[name][:self.n]
        if name not in self._values:
            return stored.astype(self.dtypes[name])
        return self.values(name)[stored]

    def values(self, name: str) -> np.ndarray:
        """An object column's distinct values, indexed by their codes (:attr:`codes`)."""
        values = np.empty(len(self._values[name]), object)
        for i, v in enumerate(self._values[name]):
            values[i] = v
        return values

    def take(self, index: np.ndarray) -> None:
        """Keep only the rows at ``index``, in that order (values no row holds any more are
        forgotten once they outnumber the rows)."""
        for name, buf in self._data.items():
            self._data[name] = buf[:self.n][index]
        self.n = len(index)
        for name, seen in self._values.items():
            if len(seen) > 2 * self.n + 256:
                used, codes = np.unique(self._data[name], return_inverse=True)
                values = list(seen)
                self._values[name] = {values[u]: i for i, u in enumerate(used.tolist())}
                self._data[name] = codes.reshape(-1).astype(_fitting(np.dtype(np.int8), codes))

    def frame(self, categories: Mapping[str, Sequence[str]] | None = None) -> pd.DataFrame:
        """The DataFrame, as :meth:`Rows.frame` builds it from the same rows."""
        import pandas as pd

        cats = categories or {}
        return pd.DataFrame({name: categorical(self.column(name), cats[name]) if name in cats
                             else self.column(name) for name in self.dtypes})

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_data": self.codes}


def _start(dtype: np.dtype) -> np.dtype:
    """A column's stored type before any row: codes and integers start at one byte."""
    if dtype.kind in "Oi":
        return np.dtype(np.int8)
    return np.dtype(np.uint8) if dtype.kind == "u" else dtype


def _fitting(stored: np.dtype, col: np.ndarray) -> np.dtype:
    """The narrowest integer type of ``stored``'s kind holding ``stored`` and ``col`` (other
    types: ``stored``)."""
    if stored.kind not in "iu" or not col.size:
        return stored
    lo, hi = int(col.min()), int(col.max())
    for t in (np.int8, np.int16, np.int32, np.int64) if stored.kind == "i" else (
            np.uint8, np.uint16, np.uint32, np.uint64):
        info = np.iinfo(t)
        if np.dtype(t).itemsize >= stored.itemsize and info.min <= lo and hi <= info.max:
            return np.dtype(t)
    return np.dtype(np.int64 if stored.kind == "i" else np.uint64)
