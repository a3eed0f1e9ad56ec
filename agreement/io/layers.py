"""Paint overlapping shapes into one panoptic map, recording every conflict.

Tools let shapes overlap (CVAT polygons and masks, Label Studio brushes, COCO instances); a
panoptic map holds one segment per pixel. The rule, applied by :func:`paint`:

1. **Stuff under things**: every stuff shape is painted before every thing shape.
2. Within a layer, ascending **z_order** (CVAT; 0 for the other formats): higher is on top.
3. Then **file order** (later on top), or with ``order="smaller_on_top"`` larger shapes first
   so that a small shape is never buried under a large one (ties by file order).

A later shape overwrites the pixels it covers. Each time it takes pixels from a shape of another
segment, one conflict is recorded: the two shapes, the number of pixels taken, the winner.
Shapes of one segment (the parts of a CVAT group, every shape of one stuff class) do not
conflict. Counting is one ``np.unique`` over the overwritten pixels of each shape, never a
per-pixel loop.

Segments: each thing shape is a segment, except that shapes sharing a ``group`` and category
form one; all shapes of one stuff category form one segment (``merge_stuff=True``).
"""

from __future__ import annotations

import pickle
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .._names import Names
from ..errors import AnnotationError
from ..findings import Finding, findings_frame
from ..model import Categories, ImageInfo, PanopticAnnotation, Segment
from ._blocks import BlockFile
from ._guard import reader_errors
from ._shapes import Shape

if TYPE_CHECKING:  # tables are built with pandas when read
    import pandas as pd

__all__ = ["CONFLICT_COLUMNS", "PaintResult", "ShapeSource", "ShapeStore", "paint"]

Order = Literal["file", "smaller_on_top"]

#: Columns of :attr:`PaintResult.conflicts`.
CONFLICT_COLUMNS = ("image", "loser", "loser_label", "winner", "winner_label", "pixels")
_MAX_ID = (1 << 24) - 1


@dataclass(frozen=True)
class PaintResult:
    """The outcome of :func:`paint`.

    Attributes
    ----------
    annotation : PanopticAnnotation
    findings : list of Finding
        Conflicts (``overlap``, ``thing_over_stuff``), ``hidden_shape`` and ``empty_shape``.
    conflict_rows : list of tuple
        The rows of :attr:`conflicts`.
    conflicts : DataFrame
        One row per (loser, winner) shape pair: :data:`CONFLICT_COLUMNS`; ``pixels`` is the
        number of pixels the winner took from the loser (built when first read).
    """

    annotation: PanopticAnnotation
    findings: list[Finding]
    conflict_rows: list[tuple[Any, ...]]

    @cached_property
    def conflicts(self) -> pd.DataFrame:
        """See the class notes."""
        import pandas as pd

        return pd.DataFrame(self.conflict_rows, columns=list(CONFLICT_COLUMNS))


def _segment_keys(shapes: Sequence[Shape], merge_stuff: bool) -> list[tuple]:
    keys = []
    for i, s in enumerate(shapes):
        if not s.isthing and merge_stuff:
            keys.append(("stuff", s.category_id))
        elif s.group is not None:
            keys.append(("group", s.group, s.category_id))
        else:
            keys.append(("shape", i))
    return keys


def _assign_ids(first: list[Shape]) -> list[int]:
    """Segment ids: a shape's own ``segment_id`` when valid and free, else the smallest free."""
    used: set[int] = set()
    ids: list[int | None] = []
    for s in first:
        sid = s.segment_id
        ok = sid is not None and 0 < sid <= _MAX_ID and sid not in used
        ids.append(sid if ok else None)
        if ok:
            used.add(sid)  # type: ignore[arg-type]
    nxt = 1
    out = []
    for sid in ids:
        if sid is None:
            while nxt in used:
                nxt += 1
            sid = nxt
            used.add(sid)
        out.append(sid)
    return out


def paint(shapes: Sequence[Shape], image: ImageInfo, *, order: Order = "file",
          merge_stuff: bool = True, annotator: str | None = None,
          file: str | None = None) -> PaintResult:
    """Paint ``shapes`` into one panoptic map of ``image`` following the layer rule.

    Parameters
    ----------
    shapes : sequence of Shape
    image : ImageInfo
    order : {"file", "smaller_on_top"}
        Tie-break after layer and z_order.
    merge_stuff : bool
        One segment per stuff category (panoptic convention).
    annotator, file
        For findings.

    Returns
    -------
    PaintResult

    Examples
    --------
    >>> from agreement.io._shapes import BoxMask
    >>> sq = lambda x, n: BoxMask(np.array([0, 4]), x, 0, 2, 2)
    >>> a = Shape("a", "car", 1, True, sq(0, 0), order=0)
    >>> b = Shape("b", "car", 1, True, sq(1, 1), order=1)
    >>> res = paint([a, b], ImageInfo("x.png", 2, 3))
    >>> res.annotation.ids.tolist(), res.conflicts["pixels"].tolist()
    ([[1, 2, 2], [1, 2, 2]], [2])
    """
    h, w = image.height, image.width
    where = {"annotator": annotator, "file": file, "image": image.file_name}
    findings: list[Finding] = []
    rasters, kept = [], []
    for s in shapes:
        m, top, left = s.geometry.raster(h, w)
        area = int(np.count_nonzero(m))
        if area == 0:
            findings.append(Finding.of("empty_shape", "covers no pixel once rasterised; left out",
                                       shape=s.name, **where))
            continue
        rasters.append((m, top, left, area))
        kept.append(s)
    keys = _segment_keys(kept, merge_stuff)
    seg_index: dict[tuple, int] = {}
    first: list[Shape] = []
    for s, key in zip(kept, keys, strict=True):
        if key not in seg_index:
            seg_index[key] = len(first)
            first.append(s)
    seg_ids = _assign_ids(first)
    seg_of = np.array([seg_index[k] for k in keys], dtype=np.int64)
    rank = sorted(range(len(kept)), key=lambda i: (
        kept[i].isthing, kept[i].z_order, -rasters[i][3] if order == "smaller_on_top" else 0, i))
    owner = np.zeros((h, w), dtype=np.int32)  # 1 + index into kept
    rows = []
    for i in rank:
        m, top, left, _ = rasters[i]
        crop = owner[top : top + m.shape[0], left : left + m.shape[1]]
        prev = crop[m]
        taken = prev[prev > 0]
        if taken.size:
            losers, counts = np.unique(taken, return_counts=True)
            for j, px in zip((losers - 1).tolist(), counts.tolist(), strict=True):
                if seg_of[j] != seg_of[i]:
                    rows.append((j, i, px))
        crop[m] = i + 1
    visible = np.bincount(owner.ravel(), minlength=len(kept) + 1)[1:]
    for i, s in enumerate(kept):
        if visible[i] == 0:
            findings.append(Finding.of("hidden_shape", f"all {rasters[i][3]} px covered by later "
                                       "shapes", shape=s.name, **where))
    findings += _conflict_findings(rows, kept, where)
    ann = _annotation(owner, seg_of, first, seg_ids, image)
    conflicts = [(image.file_name, kept[j].name, kept[j].label, kept[i].name, kept[i].label, px)
                 for j, i, px in rows]
    return PaintResult(ann, findings, conflicts)


def _conflict_findings(rows: list, kept: list[Shape], where: dict) -> list[Finding]:
    out = []
    for j, i, px in rows:
        lo, hi = kept[j], kept[i]
        kind = "thing_over_stuff" if hi.isthing and not lo.isthing else "overlap"
        z = f" (z_order {lo.z_order} < {hi.z_order})" if hi.z_order != lo.z_order else ""
        out.append(Finding.of(
            kind, f"{hi.name} ({hi.label}) covers {px} px of {lo.name} ({lo.label}); "
            f"the {hi.label} wins{z}", shape=f"{lo.name} / {hi.name}", **where))
    return out


def _annotation(owner: np.ndarray, seg_of: np.ndarray, first: list[Shape], seg_ids: list[int],
                image: ImageInfo) -> PanopticAnnotation:
    k = len(first)
    compact_lut = np.concatenate([[0], seg_of + 1]).astype(np.int32)
    compact = compact_lut[owner]
    areas = np.bincount(compact.ravel(), minlength=k + 1)[1:]
    from scipy import ndimage  # here: COCO panoptic studies never paint shapes

    boxes = ndimage.find_objects(compact, max_label=k)
    id_lut = np.zeros(k + 1, dtype=np.int32)
    segs = []
    for n, s in enumerate(first):
        if areas[n] == 0:
            continue
        id_lut[n + 1] = seg_ids[n]
        ys, xs = boxes[n]
        segs.append(Segment(seg_ids[n], s.category_id, s.iscrowd, int(areas[n]),
                            (xs.start, ys.start, xs.stop - xs.start, ys.stop - ys.start)))
    return PanopticAnnotation(image, id_lut[compact], tuple(segs))


class ShapeStore(Mapping[str, tuple[Shape, ...]]):
    """One annotator's shapes per image, written (pickled) to an anonymous temporary file as
    they are added and read back when asked: a reader of a large export holds a name and a few
    integers an image, not its shapes (a CVAT export of 10,000 images of masks: ~180 MB of
    shapes per annotator). An image's shapes may come in several pieces (:meth:`extend`: a
    COCO instances file lists its annotations in any order), read back in the order they came.
    Where no temporary file can be made or written, the shapes stay in memory (the same
    values). Iterates in the order the images were added; pickles by value.

    >>> from agreement.io._shapes import Polygons
    >>> s = ShapeStore({"a.png": []})
    >>> s.add("b.png", [Shape("polygon #1", "car", 2, True, Polygons(()), order=0)])
    >>> s.extend(0, [Shape("polygon #2", "road", 3, False, Polygons(()), order=1)])
    >>> list(s), [x.label for x in s["a.png"]], s["b.png"][0].label, "c.png" in s
    (['a.png', 'b.png'], ['road'], 'car', False)
    """

    __slots__ = ("_at", "_file", "_first", "_held", "_last", "_names", "_next", "_size")

    def __init__(self, shapes: Mapping[str, Iterable[Shape]] | None = None) -> None:
        self._file = BlockFile()
        self._names = Names()
        self._first = array("q")  # per image: its first and last piece (-1: none)
        self._last = array("q")
        self._at = array("q")  # per piece: offset in the file (-1: held in memory), size, next
        self._size = array("q")
        self._next = array("q")
        self._held: dict[int, tuple[Shape, ...]] = {}
        for name, found in (shapes or {}).items():
            self.add(name, found)

    def add(self, name: str, shapes: Iterable[Shape] = ()) -> None:
        """Add an image (once) with its shapes, or the first of them."""
        self._names.append(name)
        self._first.append(-1)
        self._last.append(-1)
        self.extend(len(self._names) - 1, shapes)

    def extend(self, k: int, shapes: Iterable[Shape]) -> None:
        """Add shapes to the ``k``-th image added, after those it has."""
        found = tuple(shapes)
        if not found:
            return
        data = pickle.dumps(found, protocol=pickle.HIGHEST_PROTOCOL)
        at = self._file.put(data)
        piece = len(self._at)
        if at is None:  # no file: kept in memory
            self._held[piece] = found
        self._at.append(-1 if at is None else at)
        self._size.append(len(data))
        self._next.append(-1)
        if self._last[k] < 0:
            self._first[k] = piece
        else:
            self._next[self._last[k]] = piece
        self._last[k] = piece

    def __getitem__(self, name: str) -> tuple[Shape, ...]:
        k = self._names.position(name) if isinstance(name, str) else None
        if k is None:
            raise KeyError(name)
        out: list[Shape] = []
        piece = self._first[k]
        while piece >= 0:
            at = self._at[piece]
            out += (self._held[piece] if at < 0 else  # our own bytes, this process
                    pickle.loads(self._file.get(at, self._size[piece])))
            piece = self._next[piece]
        return tuple(out)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __reduce__(self) -> Any:
        return ShapeStore, (dict(self.items()),)


class ShapeSource:
    """One annotator's shapes per image; paints a panoptic map on :meth:`load`.

    Implements :class:`agreement.model.AnnotationSource`; the CVAT, Label Studio and COCO
    instances readers return it.

    Attributes
    ----------
    name : str
        The export path (with ``#annotator`` when the file holds several annotators).
    annotator : str or None
        The annotator named by the file (assignee, Label Studio user), when known.
    categories : Categories
    images : tuple of ImageInfo
    findings : list of Finding
        What the reader noticed (skipped shapes, unknown labels, degenerate polygons, ...).
    format : str
    order : {"file", "smaller_on_top"}
    isthing_given : frozenset of str
        The names whose thing / stuff the file states (COCO ``isthing``); none for CVAT and
        Label Studio, which have no such flag.
    """

    def __init__(self, name: str, categories: Categories, images: Sequence[ImageInfo],
                 shapes: Mapping[str, Sequence[Shape]], *, annotator: str | None = None,
                 findings: Sequence[Finding] = (), order: Order = "file",
                 format: str = "shapes", file: str | None = None,
                 isthing_given: Iterable[str] = ()) -> None:
        if order not in ("file", "smaller_on_top"):
            raise AnnotationError(f"order must be 'file' or 'smaller_on_top', got {order!r}")
        self.name = name
        self.file = file if file is not None else name
        self.annotator = annotator
        self.categories = categories
        self.images = tuple(images)
        # a reader passes its ShapeStore (filled as it parsed); other mappings are stored here
        self._shapes = shapes if isinstance(shapes, ShapeStore) else ShapeStore(shapes)
        self._info = {i.file_name: i for i in self.images}
        self.findings = list(findings)
        self.format = format
        self.order = order
        self.isthing_given = frozenset(isthing_given)

    def shapes(self, file_name: str) -> tuple[Shape, ...]:
        """The shapes of one image, in file order."""
        self._image(file_name)
        return self._shapes.get(file_name, ())

    def _image(self, file_name: str) -> ImageInfo:
        try:
            return self._info[file_name]
        except KeyError:
            raise AnnotationError("image must be in this export", file=self.file,
                                  image=file_name, annotator=self.annotator) from None

    def paint(self, file_name: str) -> PaintResult:
        """Paint one image (the map, its layer findings and the conflict table).

        Shapes are decoded here (brushes, bitmasks, RLEs); any failure is one of our errors
        naming the file, image and annotator (see :func:`agreement.io._guard.reader_errors`).
        """
        info = self._image(file_name)
        with reader_errors(f"{self.format} shapes", file=self.file, image=file_name,
                           annotator=self.annotator):
            return paint(self._shapes.get(file_name, ()), info, order=self.order,
                         annotator=self.annotator, file=self.file)

    def load(self, file_name: str) -> PanopticAnnotation:
        """The panoptic annotation of ``file_name`` (see :func:`paint` for the layer rule)."""
        return self.paint(file_name).annotation

    def load_with_findings(self, file_name: str) -> tuple[PanopticAnnotation, list[Finding]]:
        """The annotation and the layer findings of one image."""
        res = self.paint(file_name)
        return res.annotation, res.findings

    def findings_frame(self) -> pd.DataFrame:
        """The reader's findings as a DataFrame (see :func:`agreement.findings.findings_frame`)."""
        return findings_frame(self.findings)

    def __repr__(self) -> str:
        who = f", annotator {self.annotator!r}" if self.annotator else ""
        return (f"ShapeSource({self.format}: {self.name!r}{who}, {len(self.images)} images, "
                f"{len(self.findings)} findings)")
