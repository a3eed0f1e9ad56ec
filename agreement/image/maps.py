"""One image of a study: its N decoded annotations and what every per-image kernel reads from them.

:class:`ImageMaps` holds the annotations of one image (each decoded once, by the caller) and
computes, on first use and once only, what several kernels share:

- each segment's label over the study's categories (:meth:`ImageMaps.segment_labels`);
- each map's boundary band for Boundary PQ (:meth:`ImageMaps.banded`);
- the **tuples** of the image (:meth:`ImageMaps.tuples`, :mod:`agreement.image.tuples`): the
  distinct combinations of the annotators' segments and their pixel counts, one ``bincount``
  over the combined compact ids; per-pixel questions are answered per tuple;
- the **joint table of each annotator pair** (:meth:`ImageMaps.pair`): with Boundary PQ one
  ``bincount`` over both compact ids and both band flags
  (:func:`agreement.metrics.boundary.joint_overlap_banded`), otherwise the pair's marginal of
  the tuples; both directions' :class:`~agreement.matching.Overlap` and
  :class:`~agreement.metrics.boundary.BoundaryOverlap` and the peer matching
  (:meth:`PairTable.match_lut`) are read from it;
- the pixel statistics (:meth:`ImageMaps.pixel_counts`: the label confusion of every pair per
  stratum) and the votes of the annotators (:meth:`ImageMaps.votes`, shared by the heatmaps,
  the consensus and the leave-one-out scores), both per tuple.

Nothing here knows a study: an image, its annotations and the category set are the whole input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ..errors import AnnotationError
from ..matching import Overlap, candidate_pairs, match_segments, overlap_from_table
from ..metrics.boundary import (
    BoundaryOverlap,
    banded,
    boundary_band,
    boundary_width,
    joint_overlap_banded,
)
from ..model import Categories, PanopticAnnotation
from .tuples import Tuples, count_tuples
from .votes import Votes, count_votes

if TYPE_CHECKING:
    from ..findings import Finding
    from ..metrics.pixel import PixelCounts

__all__ = ["ImageMaps", "Loaded", "PairTable", "label_dtype"]

IntArray = npt.NDArray[np.int64]


def label_dtype(n_labels: int) -> np.dtype:
    """The narrowest unsigned type holding labels ``0 .. n_labels - 1``."""
    return np.dtype(np.uint8 if n_labels <= 1 << 8 else np.uint16 if n_labels <= 1 << 16
                    else np.int32)


@dataclass(frozen=True)
class Loaded:
    """One annotator's annotation of an image as read: the annotation (None when it could not
    be decoded), what the reader noticed while painting it, the error that stopped it, and the
    file it came from."""

    annotator: str
    annotation: PanopticAnnotation | None
    findings: tuple[Finding, ...] = ()
    error: AnnotationError | None = None
    file: str | None = None


@dataclass(eq=False)
class PairTable:
    """The joint table of annotators ``a`` and ``b`` of one image, built once.

    Attributes
    ----------
    a, b : str
    table : ndarray of int64, shape (na + 1, nb + 1)
        Pixels per (compact id of ``a``, compact id of ``b``); row / column 0 is void.
    boundary : BoundaryOverlap or None
        Band overlaps (``a`` as reference) when the table was built with boundary bands.
    """

    a: str
    b: str
    table: IntArray
    boundary: BoundaryOverlap | None
    ann_a: PanopticAnnotation = field(repr=False)
    ann_b: PanopticAnnotation = field(repr=False)
    image: str = ""

    def table_for(self, ref: str) -> IntArray:
        """The mask table with ``ref``'s compact ids as rows."""
        return self.table if ref == self.a else self.table.T

    @cached_property
    def _overlap(self) -> Overlap:
        return overlap_from_table(self.table, self.ann_a.segments, self.ann_b.segments,
                                  image=self.image)

    def overlap(self, ref: str) -> Overlap:
        """The :class:`~agreement.matching.Overlap` with ``ref`` (``a`` or ``b``) as reference."""
        return self._overlap if ref == self.a else self._overlap.transpose()

    def boundary_overlap(self, ref: str) -> BoundaryOverlap | None:
        """The band overlap with ``ref`` as reference (None without boundary bands)."""
        if self.boundary is None or ref == self.a:
            return self.boundary
        return self.boundary.transpose()

    @cached_property
    def match_lut(self) -> IntArray:
        """For each compact id of ``a``, the compact id of its match in ``b`` (-1: none).

        Peer matching: the panoptic rule (same category, score > 0.5) with the *plain* IoU
        ``|A ∩ B| / |A ∪ B|`` as score, so void plays no role and neither annotator is the
        reference. Crowd segments match only crowd segments (the panoptic rule never matches a
        crowd of ``a``): a crowd of ``a`` matches a crowd of ``b`` of its category over more
        than half their union, since two annotators who mark the same group as a crowd agree
        on its instances; so the result does not depend on which annotator comes first. See
        :func:`agreement.image.disagreement.match_lut`.
        """
        ov = self._overlap
        r, o = candidate_pairs(ov)
        inter = ov.table[r + 1, o + 1]
        iou = inter / (ov.ref_area[r] + ov.other_area[o] - inter)
        matches = match_segments(ov, score=iou)
        lut = np.full(len(self.ann_a.segments) + 1, -1, np.int64)
        peer = ~ov.other_crowd[matches.other_index]  # a crowd matches only a crowd
        lut[matches.ref_index[peer] + 1] = matches.other_index[peer] + 1
        if ov.ref_crowd.any() and ov.other_crowd.any():
            r, o, inter = ov.pairs()
            both = (ov.ref_crowd[r] & ov.other_crowd[o]
                    & (ov.ref_categories[r] == ov.other_categories[o]))
            r, o, inter = r[both], o[both], inter[both]
            same = inter / (ov.ref_area[r] + ov.other_area[o] - inter) > 0.5  # unique
            lut[r[same] + 1] = o[same] + 1
        return lut



class ImageMaps:
    """The decoded annotations of one image and what the per-image kernels share.

    Parameters
    ----------
    image : str
        The image's name (messages, rows).
    annotations : mapping of str to PanopticAnnotation
        Annotator -> annotation, in study order (the readable ones).
    categories : Categories
        The label space (a study's categories).
    dilation_ratio : float, optional
        Boundary band width as a fraction of the image diagonal: pair tables then also count
        band pixels (Boundary PQ). None: mask tables only.
    read : sequence of Loaded, optional
        Everything read for this image, unreadable annotations included (validation).
    annotators : sequence of str, optional
        Every annotator of the study, in order (default: those of ``annotations``); per-study
        tables index annotators by their position here.
    """

    def __init__(self, image: str, annotations: Mapping[str, PanopticAnnotation], *,
                 categories: Categories, dilation_ratio: float | None = None,
                 read: Sequence[Loaded] | None = None,
                 annotators: Sequence[str] | None = None) -> None:
        self.image = image
        self.annotations = dict(annotations)
        self.annotators = tuple(self.annotations if annotators is None else annotators)
        self.categories = categories
        self.dilation_ratio = dilation_ratio
        self.read = tuple(read) if read is not None else tuple(
            Loaded(a, ann) for a, ann in self.annotations.items())
        self._banded: dict[str, npt.NDArray[np.int32]] = {}
        self._pairs: dict[tuple[str, str], PairTable] = {}
        self._cache: dict = {}

    @property
    def names(self) -> tuple[str, ...]:
        """The annotators with a readable annotation, in study order."""
        return tuple(self.annotations)

    @property
    def error(self) -> AnnotationError | None:
        """The first annotation of the image that could not be read."""
        return next((r.error for r in self.read if r.error is not None), None)

    @property
    def category_ids(self) -> tuple[int, ...]:
        """The label space: label ``i + 1`` is ``category_ids[i]``, 0 is void."""
        return tuple(self.categories)

    def shapes(self) -> dict[str, tuple[int, int]]:
        """``(height, width)`` of each annotation."""
        return {a: ann.shape for a, ann in self.annotations.items()}

    def segment_labels(self, annotator: str) -> npt.NDArray[np.integer]:
        """Label of each compact id of an annotation (:func:`agreement.metrics.pixel.label_lut`),
        in the narrowest unsigned type holding the labels."""
        from ..metrics.pixel import label_lut

        dtype = label_dtype(len(self.categories) + 1)
        return self.cached(("segment_labels", annotator), lambda: label_lut(
            self.annotations[annotator], self.category_ids).astype(dtype))

    def tuples(self) -> Tuples:
        """The distinct segment tuples of the readable annotations (:func:`count_tuples`)."""
        def make() -> Tuples:
            shapes = set(self.shapes().values())
            if len(shapes) > 1:
                raise AnnotationError(f"annotations of one image must have one shape, got "
                                      f"{sorted(shapes)}", image=self.image)
            anns = list(self.annotations.values())
            return count_tuples([a.compact for a in anns], [len(a.segments) for a in anns])

        return self.cached("tuples", make)

    def tuple_labels(self) -> npt.NDArray[np.integer]:
        """Label of each annotator (rows, in :attr:`names` order) on each tuple (columns)."""
        def make() -> np.ndarray:
            codes = self.tuples().codes
            return np.stack([self.segment_labels(a)[codes[:, i]]
                             for i, a in enumerate(self.names)]) if self.names else codes.T
        return self.cached("tuple_labels", make)

    def banded(self, annotator: str) -> npt.NDArray[np.integer]:
        """``2 x compact + band`` of an annotation (:func:`agreement.metrics.boundary.banded`,
        in the narrowest type holding it), its boundary band ``d = boundary_width(h, w,
        ratio=dilation_ratio)`` computed once; kept until every pair table of the annotator
        is built (:meth:`pair`)."""
        if annotator not in self._banded:
            ann = self.annotations[annotator]
            d = boundary_width(*ann.shape, ratio=float(self.dilation_ratio or 0.0))
            band = boundary_band(ann.compact, d=d)
            self._banded[annotator] = banded(ann.compact, band, k=len(ann.segments))
        return self._banded[annotator]

    def pair(self, a: str, b: str) -> PairTable:
        """The joint table of ``a`` and ``b`` (built once per unordered pair; ``(b, a)`` is the
        same table with the roles read the other way: use :meth:`PairTable.overlap`)."""
        key = self._key(a, b)
        if key not in self._pairs:
            self._pairs[key] = self._build_pair(*key)
            for name in key:  # a banded map is as large as the image: drop it when done
                if name in self._banded and all(self._key(name, other) in self._pairs
                                                for other in self.annotations if other != name):
                    del self._banded[name]
        return self._pairs[key]

    def _key(self, a: str, b: str) -> tuple[str, str]:
        """The pair ``(a, b)`` in study order."""
        order = list(self.annotations)
        return (a, b) if order.index(a) < order.index(b) else (b, a)

    def _build_pair(self, a: str, b: str) -> PairTable:
        ann_a, ann_b = self.annotations[a], self.annotations[b]
        if ann_a.shape != ann_b.shape:
            raise AnnotationError(f"annotations must have the same size, got {ann_a.shape} for "
                                  f"{a!r} and {ann_b.shape} for {b!r} (height, width)",
                                  image=self.image)
        na, nb = len(ann_a.segments), len(ann_b.segments)
        if self.dilation_ratio is None:
            t, names = self.tuples(), self.names
            table = t.table(t.codes[:, names.index(a)], t.codes[:, names.index(b)],
                            (na + 1, nb + 1))
            bo = None
        else:
            table, bo = joint_overlap_banded(self.banded(a), self.banded(b), na, nb)
        return PairTable(a, b, table, bo, ann_a, ann_b, self.image)

    def pairs(self, names: Sequence[str] | None = None) -> list[tuple[str, str]]:
        """Unordered annotator pairs ``(a, b)``, ``a`` before ``b`` in study order."""
        names = self.names if names is None else tuple(n for n in self.names if n in names)
        return list(combinations(names, 2))

    def match_luts(self) -> dict[tuple[int, int], IntArray]:
        """:attr:`PairTable.match_lut` of every pair, keyed by annotator positions ``(i, j)``."""
        names = self.names
        return {(i, j): self.pair(names[i], names[j]).match_lut
                for i, j in combinations(range(len(names)), 2)}

    def votes(self, void: str) -> Votes:
        """The annotators' votes on every tuple (:func:`agreement.image.votes.count_votes`)."""
        return self.cached(("votes", void), lambda: count_votes(self.tuple_labels(), void=void))

    def pixel_counts(self, void: str) -> PixelCounts:
        """The image's pixel statistics over every annotator of the study
        (:func:`agreement.metrics.pixel.pixel_counts`; annotators without an annotation of
        the image are missing values), computed once per void mode."""
        from ..metrics.pixel import pixel_counts

        return self.cached(("pixel_counts", void), lambda: pixel_counts(
            dict(zip(self.names, self.tuple_labels(), strict=True)), annotators=self.annotators,
            category_ids=self.category_ids, void=void, weights=self.tuples().count))

    def cached(self, key: object, make):
        """``make()`` computed once per image for ``key`` (lets kernels share a result)."""
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def __repr__(self) -> str:
        return f"ImageMaps({self.image!r}: {', '.join(self.names)})"
