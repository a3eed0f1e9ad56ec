"""Blocks of bytes set aside in an anonymous temporary file and read back by offset.

A reader that keeps a table of the whole file it read (the COCO panoptic reader's segment
columns: a few bytes a segment, for every image of the study) holds it for the whole run;
:class:`BlockFile` lets it write each block once full and read back, with one ``pread``, the
part of a block it needs. Where no temporary file can be made or written (a full disk, no
writable temporary folder), :meth:`BlockFile.put` says so and the caller keeps that block, and
the ones after it, in memory (the same values).
"""

from __future__ import annotations

import os
import tempfile
import weakref
from typing import Any

__all__ = ["BlockFile"]


class BlockFile:
    """Blocks of bytes appended to an anonymous temporary file (made at the first block).

    :meth:`put` returns a block's offset, or None where the file cannot be made or written: it
    then refuses every later block (the caller keeps them in memory); the blocks written before
    stay readable. A process forked after blocks were written reads them (``pread`` does not
    move a shared offset) but writes none. The file goes with :meth:`close` or when the object
    is collected. It does not pickle: an owner pickles the values it put, read back.

    >>> f = BlockFile()
    >>> a, b = f.put(b"abc"), f.put(b"defg")
    >>> f.get(a + 1, 2), f.get(b, 4)
    (b'bc', b'defg')
    >>> f.close()
    """

    __slots__ = ("__weakref__", "_end", "_fd", "_file", "_pid", "failed")

    def __init__(self) -> None:
        self._file: Any = None
        self._fd = -1
        self._end = 0
        self._pid = os.getpid()
        #: no more blocks are written (the disk failed; or no os.pwrite / os.pread: Windows)
        self.failed = not (hasattr(os, "pwrite") and hasattr(os, "pread"))

    def put(self, data: Any) -> int | None:
        """Write ``data`` (bytes or a buffer such as an ``array``) at the end of the file; its
        offset, or None (kept by the caller) where the file cannot be made or written."""
        if self.failed or os.getpid() != self._pid:  # a forked copy writes nothing
            return None
        view = memoryview(data).cast("B")
        try:
            if self._file is None:
                self._file = tempfile.TemporaryFile(buffering=0)
                weakref.finalize(self, self._file.close)
                self._fd = self._file.fileno()
            fd, at = self._fd, self._end
            while view:
                done = os.pwrite(fd, view, at)
                if done <= 0:  # pragma: no cover - pwrite raises on a full disk
                    raise OSError("the temporary file took no bytes")
                view, at = view[done:], at + done
        except OSError:  # no writable temporary folder, or no room: the caller keeps it
            self.failed = True
            return None
        start, self._end = self._end, at
        return start

    def get(self, offset: int, size: int) -> bytes:
        """The ``size`` bytes written at ``offset`` (one read, more only if the system
        returns less)."""
        fd = self._fd
        data = os.pread(fd, size, offset)
        while len(data) < size:  # pragma: no cover - a regular file's reads are whole
            more = os.pread(fd, size - len(data), offset + len(data))
            if not more:
                raise OSError("the temporary file ended before the block")
            data += more
        return data

    @property
    def writable(self) -> bool:
        """Whether :meth:`put` may still write (not failed, and not a forked copy)."""
        return not self.failed and os.getpid() == self._pid

    @property
    def nbytes(self) -> int:
        """Bytes written to the file."""
        return self._end

    def close(self) -> None:
        """Let the file go (the blocks written can no longer be read)."""
        if self._file is not None:
            self._file.close()
        self._file, self._fd, self.failed = None, -1, True

    def __reduce__(self) -> Any:
        raise TypeError("a BlockFile does not pickle (its blocks are in this process's file)")
