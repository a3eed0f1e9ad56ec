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

    Its length is known without reading the file; an index is read by iterating up to it (a
    finish reads the items once, in order): nothing put in the file is held in memory.
    Iterating twice reads the file twice; a batch appended while the spool is read is read
    too. The file goes when the spool
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
        self.extend(list(items))

    def extend(self, items: Sequence[Any]) -> None:
        """Append ``items`` (one batch)."""
        if not len(items):
            return
        self._n += len(items)
        if self._memory is None and self._write(items):
            return
        if self._memory is None:
            self._memory = []
        self._memory.extend(items)

    def _write(self, items: Sequence[Any]) -> bool:
        try:
            if self._file is None:
                self._file = tempfile.TemporaryFile(buffering=0)  # closed by close()
                weakref.finalize(self, self._file.close)  # or when the spool is collected
            fd = self._file.fileno()
            pos = os.lseek(fd, 0, os.SEEK_END)
        except OSError:  # no writable temporary folder
            return False
        try:  # pickled straight into the file (large arrays not copied to a bytes object
            # first), unbuffered: a full disk fails here, not at a later flush
            pickle.dump(list(items), _Whole(fd), protocol=5)
        except Exception:  # a full disk, an item that does not pickle: kept in memory from
            try:  # here, the file cut back to the batches that are whole
                os.ftruncate(fd, pos)
            except OSError:  # pragma: no cover - the offsets say what was written anyway
                pass
            return False
        self._batches.append((pos, os.lseek(fd, 0, os.SEEK_CUR) - pos))
        return True

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, k):  # type: ignore[override]
        if isinstance(k, slice):
            return list(self)[k]
        k = operator.index(k)
        if not -self._n <= k < self._n:
            raise IndexError("spool index out of range")
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
        self._file, self._batches, self._memory, self._n = None, [], None, 0

    def __reduce__(self) -> Any:
        raise TypeError("a Spool does not pickle (its items are in this process's file)")


class _Whole:
    """A file descriptor's ``write`` that writes all it is given, or raises."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")  # a pickle buffer of an array: its bytes
        size = view.nbytes
        while view:
            view = view[os.write(self._fd, view):]
        return size


def _read(file: Any, pos: int, size: int) -> list:
    file.seek(pos)
    out = pickle.load(file)  # a regular file: its reads are whole
    if file.tell() != pos + size:  # pragma: no cover - the file holds what was written
        raise OSError("the temporary file does not hold the batch written")
    return out
