"""Keep each image's joint tables on disk during a pass, for what needs them after it.

:class:`TablesPart` records, per image, every annotator's segment table and the joint table of
every annotator pair (its non-zero cells): a few kilobytes where the maps take megabytes. The
records of a chunk travel back with it and are appended to a temporary file in the process that
runs the pass (:class:`TableStore`), so memory stays flat however many images there are; a later
analysis that only needs tables (the report's merge gains,
:func:`agreement.study.merged.merged_counts`) reads them back instead of decoding the images
again.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..image.maps import ImageMaps
from ..model import Segment, Study
from .runner import Part

__all__ = ["ImageTables", "TableStore", "TablesPart"]


@dataclass(frozen=True, eq=False)
class ImageTables:
    """The tables of one image: ``segments[a]`` per annotator (study order), and per annotator
    pair ``(a, b)`` (``a`` first in study order) the non-zero cells of its joint table:
    ``(rows, cols, counts, shape)``."""

    image: str
    segments: dict[str, tuple[Segment, ...]]
    cells: dict[tuple[str, str], tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]]]

    @property
    def names(self) -> tuple[str, ...]:
        """The annotators of the image, in study order."""
        return tuple(self.segments)

    def table(self, a: str, b: str) -> npt.NDArray[np.int64]:
        """The joint table of ``a`` (rows) and ``b`` (columns)."""
        rows, cols, counts, shape = self.cells[(a, b)]
        out = np.zeros(shape, np.int64)
        out[rows, cols] = counts
        return out


class TableStore:
    """Image tables appended to a temporary file, read back in order (one process only)."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()
        self.images = 0

    def append(self, records: Sequence[ImageTables]) -> None:
        for record in records:
            pickle.dump(record, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self.images += len(records)

    def __iter__(self) -> Iterator[ImageTables]:
        self._file.seek(0)
        for _ in range(self.images):
            yield pickle.load(self._file)
        self._file.seek(0, 2)

    def close(self) -> None:
        """Delete the file."""
        self._file.close()


@dataclass(frozen=True)
class TablesPart(Part[list, TableStore]):
    """Record every image's segment and joint tables (see the module notes)."""

    name = "tables"
    label = "tables"

    def kernel(self, maps: ImageMaps) -> list[ImageTables]:
        cells = {}
        for a, b in maps.pairs():
            table = maps.pair(a, b).table
            rows, cols = np.nonzero(table)
            cells[(a, b)] = (rows.astype(np.int32), cols.astype(np.int32), table[rows, cols],
                             table.shape)
        segments = {a: maps.annotations[a].segments for a in maps.names}
        return [ImageTables(maps.image, segments, cells)]

    def merge(self, a: list, b: list) -> list:
        return a + b

    def fold(self, total: TableStore | None, chunk: list) -> TableStore:
        store = total if total is not None else TableStore()
        store.append(chunk)
        return store

    def finish(self, total: TableStore | None, study: Study) -> TableStore:
        return total if total is not None else TableStore()
