"""A reader's list of images, held as columns: :class:`ImageTable`.

A reader's ``images`` is a sequence of :class:`~agreement.model.ImageInfo`. Held as a tuple of
them (with a dict from name to position beside it), a 10,000-image export kept ~200 bytes an
image in small objects; the table keeps names in one buffer (:class:`agreement._names.Names`)
and sizes and ids as machine integers, and makes each ``ImageInfo`` when asked.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterator, Sequence
from typing import Any

from .._names import Names, Numbers, position_in
from ..model import ImageInfo

__all__ = ["ImageTable"]


class ImageTable(Sequence[ImageInfo]):
    """Images appended one by one; ``table[k]`` is the ``k``-th :class:`ImageInfo`, equal to the
    one appended (tool references are not kept), :meth:`position` finds an image by file name.

    >>> t = ImageTable(); t.append(ImageInfo("b.jpg", 4, 6, 7)); t.append(ImageInfo("a.jpg", 1, 2))
    >>> t[0], t.position("a.jpg"), t.position("z.jpg"), len(t)
    (ImageInfo(file_name='b.jpg', height=4, width=6, id=7, tool_ref=None), 1, None, 2)
    """

    __slots__ = ("_ids", "_names", "_sizes")

    def __init__(self) -> None:
        self._names = Names()
        self._sizes = Numbers()  # height, width: two values an image
        self._ids = _Ids()

    def append(self, info: ImageInfo) -> None:
        self._names.append(info.file_name)
        self._sizes.append(info.height)
        self._sizes.append(info.width)
        self._ids.append(info.id)

    def __len__(self) -> int:
        return len(self._names)

    def __getitem__(self, k: Any) -> Any:
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        k = position_in(k, len(self))
        return ImageInfo(self._names[k], self._sizes[2 * k], self._sizes[2 * k + 1], self._ids[k])

    def __iter__(self) -> Iterator[ImageInfo]:
        for k in range(len(self)):
            yield self[k]

    def file_names(self) -> Sequence[str]:
        """The images' file names, in order (read from the buffer, no ImageInfo made)."""
        return self._names

    def position(self, file_name: str) -> int | None:
        """The position of the image named ``file_name``; None when there is none."""
        return self._names.position(file_name)

    def nbytes(self) -> int:
        return self._names.nbytes() + 8 * (len(self._sizes) + len(self._ids))

    def __repr__(self) -> str:
        return f"ImageTable({len(self)} images, {self.nbytes():,} bytes)"


class _Ids(Sequence):
    """Image ids: machine integers, with the positions of the absent ones (None) aside."""

    __slots__ = ("_none", "_values")

    def __init__(self) -> None:
        self._values = Numbers()
        self._none: array = array("q")  # positions of None, increasing

    def append(self, value: int | None) -> None:
        if value is None:
            self._none.append(len(self._values))
            value = 0
        self._values.append(value)

    def __len__(self) -> int:
        return len(self._values)

    def __getitem__(self, k: Any) -> Any:
        value = self._values[k]
        if self._none and _holds(self._none, k):
            return None
        return value


def _holds(increasing: array, k: int) -> bool:
    at = bisect.bisect_left(increasing, k)
    return at < len(increasing) and increasing[at] == k


