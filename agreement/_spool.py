"""A list appended to in batches and read back in order, kept in an anonymous temporary file.

A part whose total is one item per image (the findings' records: a few kB an image) would hold
the whole study's items until its finish; :class:`Spool` writes each chunk's items to a
temporary file as they come (pickled: exact) and reads them back one batch at a time when
iterated, so the pass holds a batch, not the study. The findings' tests set their effects and
contrasts aside in one the same way. Where no temporary file can be made or written (a full
disk), or an item does not pickle, the items from there on stay in memory (same items, same
order).
"""

from __future__ import annotations

import operator
import os
import pickle
import tempfile
import weakref
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

__all__ = ["Spool"]


class Spool(Sequence):
    """Items appended in batches (:meth:`extend`), read back in order by iterating.

    Its length and its first item are known without reading the file; any other index is read
    by iterating (a finish reads the items once, in order). Iterating twice reads the file
    twice; a batch appended while the spool is read is read too. The file goes when the spool
    is closed or collected. A spool does not pickle (its file is this process's): a runner that
    pickles totals keeps it as it is.

    >>> s = Spool()
    >>> s.extend([1, 2]); s.extend([]); s.extend([3])
    >>> len(s), s[0], list(s), list(s)
    (3, 1, [1, 2, 3], [1, 2, 3])
    """

    def __init__(self, items: Iterable[Any] = ()) -> None:
        self._file: Any = None
        self._batches: list[tuple[int, int]] = []  # (offset, length) of each pickled batch
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
            blob = pickle.dumps(list(items), protocol=5)
        except Exception:  # an item that does not pickle: kept in memory from here
            return False
        try:
            if self._file is None:
                self._file = tempfile.TemporaryFile(buffering=0)  # closed by close()
                weakref.finalize(self, self._file.close)  # or when the spool is collected
            fd = self._file.fileno()
            pos = os.lseek(fd, 0, os.SEEK_END)
        except OSError:  # no writable temporary folder
            return False
        try:
            view = memoryview(blob)
            while view:  # unbuffered: a full disk fails here, not at a later flush
                view = view[os.write(fd, view):]
        except OSError:  # a full disk: the batch and what follows kept in memory
            try:
                os.ftruncate(fd, pos)
            except OSError:  # pragma: no cover - the offsets say what was written anyway
                pass
            return False
        self._batches.append((pos, len(blob)))
        return True

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, k):  # type: ignore[override]
        if isinstance(k, slice):
            return list(self)[k]
        k = operator.index(k)
        if not -self._n <= k < self._n:
            raise IndexError("spool index out of range")
        if k in (0, -self._n):
            return self._first[0]
        for i, item in enumerate(self):  # read in order up to the item
            if i == k % self._n:
                return item
        raise IndexError("spool index out of range")  # pragma: no cover - length is exact

    def __iter__(self) -> Iterator[Any]:
        b = 0
        while b < len(self._batches):
            pos, size = self._batches[b]
            yield from _read(self._file, pos, size)
            b += 1
        k = 0
        while self._memory is not None and k < len(self._memory):
            yield self._memory[k]
            k += 1

    def close(self) -> None:
        """Let the file go (the spool is empty afterwards)."""
        if self._file is not None:
            self._file.close()
        self._file, self._batches, self._memory, self._n, self._first = None, [], None, 0, []

    def __reduce__(self) -> Any:
        raise TypeError("a Spool does not pickle (its items are in this process's file)")


def _read(file: Any, pos: int, size: int) -> list:
    file.seek(pos)
    chunks, left = [], size
    while left:
        chunk = file.read(left)
        if not chunk:  # pragma: no cover - the file holds what was written
            raise OSError("the temporary file ended early")
        chunks.append(chunk)
        left -= len(chunk)
    return pickle.loads(b"".join(chunks))
