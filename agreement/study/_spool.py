"""A list a pass appends to and its finish reads once, in order, kept in a temporary file.

A part whose total is one item per image (the findings' records: a few kB an image) would hold
the whole study's items until its finish; :class:`Spool` writes each chunk's items to an
anonymous temporary file as they come (pickled: exact) and reads them back one batch at a time
when iterated, so the pass holds a batch, not the study. Where no temporary file can be made or
written, or an item does not pickle, the items from there on stay in memory (same items, same
order).
"""

from __future__ import annotations

import os
import pickle
import tempfile
import weakref
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, BinaryIO

__all__ = ["Spool"]


class Spool(Sequence):
    """Items appended in batches (:meth:`extend`), read back in order by iterating.

    Its length and its first item are known without reading the file; any other index is read
    by iterating (a finish reads the items once, in order). Iterating twice reads the file
    twice. The file goes when the spool is closed or collected. A spool does not pickle (its
    file is this process's): a runner that pickles totals keeps it as it is.

    >>> s = Spool()
    >>> s.extend([1, 2]); s.extend([]); s.extend([3])
    >>> len(s), s[0], list(s), list(s)
    (3, 1, [1, 2, 3], [1, 2, 3])
    """

    def __init__(self, items: Iterable[Any] = ()) -> None:
        self._file: BinaryIO | None = None
        self._batches = 0  # batches written to the file
        self._memory: list | None = None  # items after the file failed, in order
        self._n = 0
        self._first: list = []
        self.extend(list(items))

    def extend(self, items: Sequence[Any]) -> None:
        """Append ``items`` (one batch)."""
        if not len(items):
            return
        if not self._first:
            self._first.append(items[0])
        self._n += len(items)
        if self._memory is None and self._write(items):
            return
        if self._memory is None:
            self._memory = []
        self._memory.extend(items)

    def _write(self, items: Sequence[Any]) -> bool:
        try:
            if self._file is None:
                self._file = tempfile.TemporaryFile()  # closed by close()
                weakref.finalize(self, self._file.close)  # or when the spool is collected
        except OSError:  # no writable temporary folder
            return False
        file = self._file
        file.seek(0, os.SEEK_END)
        pos = file.tell()
        try:
            pickle.dump(list(items), file, protocol=5)
        except Exception:  # an item that does not pickle, a full disk: kept in memory from here
            file.seek(pos)
            file.truncate()
            return False
        self._batches += 1
        return True

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, k):  # type: ignore[override]
        if isinstance(k, int) and k in (0, -self._n) and self._n:
            return self._first[0]
        if isinstance(k, int) and not -self._n <= k < self._n:
            raise IndexError("spool index out of range")
        if isinstance(k, slice):
            return list(self)[k]
        for i, item in enumerate(self):  # read in order up to the item
            if i == k % self._n:
                return item
        raise IndexError("spool index out of range")  # pragma: no cover - length is exact

    def __iter__(self) -> Iterator[Any]:
        if self._file is not None and self._batches:
            file = self._file
            file.seek(0)
            for _ in range(self._batches):
                batch = pickle.load(file)
                pos = file.tell()  # a caller may write meanwhile: read on from here
                yield from batch
                del batch
                file.seek(pos)
        yield from self._memory or ()

    def close(self) -> None:
        """Let the file go (the spool is empty afterwards)."""
        if self._file is not None:
            self._file.close()
        self._file, self._batches, self._memory, self._n, self._first = None, 0, None, 0, []

    def __reduce__(self) -> Any:
        raise TypeError("a Spool does not pickle (its items are in this process's file)")
