"""Many short strings held as one buffer: the image names of a large study.

A study of 10,000 images of 3 annotators holds 30,000 file names. As Python strings with a dict
from name to position and an :class:`~agreement.annotation.ImageInfo` each, they took ~250 bytes
an image, scattered among the JSON parser's freed objects (about twice that in resident memory).
:class:`Names` keeps them as UTF-8 bytes in one buffer with an offset each, and finds a name's
position by binary search over their sorted order: ~45 bytes a name, in a few large blocks.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

__all__ = ["Names", "Numbers", "position_in"]

#: Lone surrogates (a JSON "\\ud800" escape) kept as they were read.
_ERRORS = "surrogatepass"


class Names(Sequence[str]):
    """Strings appended one by one (:meth:`append`), then read by position or looked up.

    ``names[k]`` decodes the ``k``-th string; :meth:`position` gives the first position of a
    string (None when absent) in O(log n), over an order sorted once, when first asked
    (appending afterwards sorts again; ``ordered=True``: the strings are given sorted, so never
    sorted). Equal strings may be appended
    (:meth:`position` gives the first). Pickles as its buffer and offsets.

    >>> n = Names(["b.png", "a.png", "c.png"])
    >>> n[0], len(n), n.position("c.png"), n.position("x.png"), list(n)
    ('b.png', 3, 2, None, ['b.png', 'a.png', 'c.png'])
    """

    __slots__ = ("_buffer", "_offsets", "_order")

    def __init__(self, names: Iterable[str] = (), *, ordered: bool = False) -> None:
        self._buffer = bytearray()
        self._offsets = array("q", [0])
        self._order: array | None = None
        for name in names:
            self.append(name)
        if ordered:  # given sorted (the caller's word): no sort at the first lookup
            self._order = array("q", range(len(self)))

    def append(self, name: str) -> None:
        """Add ``name`` at the end."""
        self._buffer += name.encode("utf-8", _ERRORS)
        self._offsets.append(len(self._buffer))
        self._order = None

    def __len__(self) -> int:
        return len(self._offsets) - 1

    @overload
    def __getitem__(self, k: int) -> str: ...
    @overload
    def __getitem__(self, k: slice) -> list[str]: ...
    def __getitem__(self, k: Any) -> Any:
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        k = position_in(k, len(self))
        return self._buffer[self._offsets[k]:self._offsets[k + 1]].decode("utf-8", _ERRORS)

    def __iter__(self) -> Iterator[str]:
        buffer, offsets = self._buffer, self._offsets
        for k in range(len(offsets) - 1):
            yield buffer[offsets[k]:offsets[k + 1]].decode("utf-8", _ERRORS)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.position(name) is not None

    def _sorted(self) -> array:
        if self._order is None:  # positions in name order, ties in position order
            buffer, offsets = self._buffer, self._offsets  # UTF-8 order: the strings' order
            self._order = array("q", sorted(range(len(self)),
                                            key=lambda k: buffer[offsets[k]:offsets[k + 1]]))
        return self._order

    def position(self, name: str) -> int | None:
        """The first position of ``name``; None when it is not there.

        Compared as UTF-8 bytes, undecoded: their order is the strings' (code point) order.
        """
        order, buffer, offsets = self._sorted(), self._buffer, self._offsets
        want = name.encode("utf-8", _ERRORS)
        at = bisect.bisect_left(order, want, key=lambda k: buffer[offsets[k]:offsets[k + 1]])
        if at < len(order):
            k = order[at]
            if buffer[offsets[k]:offsets[k + 1]] == want:
                return k
        return None

    def nbytes(self) -> int:
        """Bytes held (buffer, offsets and sorted order)."""
        return (len(self._buffer) + self._offsets.itemsize * len(self._offsets)
                + (0 if self._order is None else 8 * len(self._order)))

    def __getstate__(self) -> tuple[bytes, bytes, bool]:
        # whether the strings are in sorted order (a study's keys): an unpickled copy (a
        # worker's) then needs no sort at its first lookup (~30 ms at 10,000 names)
        order = self._order
        ordered = order is not None and order == array("q", range(len(order)))
        return bytes(self._buffer), self._offsets.tobytes(), ordered

    def __setstate__(self, state: tuple[bytes, bytes] | tuple[bytes, bytes, bool]) -> None:
        self._buffer = bytearray(state[0])
        self._offsets = array("q")
        self._offsets.frombytes(state[1])
        self._order = array("q", range(len(self))) if state[2:] == (True,) else None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Names):
            return self._buffer == other._buffer and self._offsets == other._offsets
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Names({len(self)} names, {self.nbytes():,} bytes)"


def position_in(k: Any, n: int) -> int:
    """Index ``k`` (an int-like, negative from the end) of a sequence of ``n`` items, checked
    (IndexError out of range)."""
    k = k.__index__()
    if k < 0:
        k += n
    if not 0 <= k < n:
        raise IndexError("index out of range")
    return k


class Numbers(Sequence[int]):
    """Integers appended one by one, as machine integers while they fit (8 bytes each), Python
    ints from the first that does not: an image id of 10**30 is read as given.

    >>> n = Numbers([3, -1]); n.append(10**30)
    >>> list(n), n[1], len(n)
    ([3, -1, 1000000000000000000000000000000], -1, 3)
    """

    __slots__ = ("_values",)

    def __init__(self, values: Iterable[int] = ()) -> None:
        self._values: array | list[int] = array("q")
        for v in values:
            self.append(v)

    def append(self, value: int) -> None:
        try:
            self._values.append(value)
        except OverflowError:
            self._values = [*self._values, value]

    def __len__(self) -> int:
        return len(self._values)

    def __getitem__(self, k: Any) -> Any:
        return self._values[k] if not isinstance(k, slice) else list(self._values[k])

    def __getstate__(self) -> array | list[int]:
        return self._values

    def __setstate__(self, state: array | list[int]) -> None:
        self._values = state
