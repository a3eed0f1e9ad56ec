"""One image of a study, every annotator pair, one pass (the worker of :mod:`agreement.study`).

Decode the N maps once, compute each map's boundary band once, build one joint (mask +
boundary) overlap table per unordered annotator pair and read both directions from it (the
table of (b, a) is the transpose of (a, b)). What leaves an image is small: per-segment rows and
per-class additive counts, as plain column arrays (DataFrames are built once, at the end).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .errors import AnnotationError
from .labels import overlap_table
from .matching import Overlap, diagnose, overlap_from_table
from .metrics.boundary import (
    BoundaryOverlap,
    banded,
    boundary_band,
    boundary_width,
    evaluate_pair,
    joint_overlap_banded,
)
from .model import PanopticAnnotation

__all__ = ["Options", "evaluate_image"]


@dataclass(frozen=True)
class Options:
    """What :func:`agreement.study.evaluate` computes (see its parameters)."""

    boundary: bool = True
    dilation_ratio: float = 0.02
    diagnostic_threshold: float = 0.2
    things: tuple[int, ...] | None = None


@dataclass
class Columns:
    """Column arrays of one image's output, concatenated across images by the caller."""

    segments: dict[str, list[np.ndarray]] = field(default_factory=dict)
    counts: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def add(self, table: str, **cols: np.ndarray) -> None:
        target = getattr(self, table)
        for k, v in cols.items():
            target.setdefault(k, []).append(np.asarray(v))


def evaluate_image(image: str, anns: Mapping[str, PanopticAnnotation],
                   options: Options) -> Columns:
    """Evaluate every ordered annotator pair of one image.

    Parameters
    ----------
    image : str
        The study's image key (written into every row).
    anns : mapping of str to PanopticAnnotation
        Annotator -> annotation of this image, in study order.
    options : Options

    Returns
    -------
    Columns
        ``segments`` and ``counts`` (per_image) column arrays.

    Raises
    ------
    AnnotationError
        Two annotators' maps differ in size, or a segment has no pixel.
    """
    names = list(anns)
    out = Columns()
    shapes = {a: anns[a].shape for a in names}
    if len(set(shapes.values())) > 1:
        raise AnnotationError(f"annotations must all have the same size, got {shapes} "
                              "(height, width)", image=image)
    bands = {}
    if options.boundary and names:
        d = boundary_width(*shapes[names[0]], ratio=options.dilation_ratio)
        bands = {a: banded(anns[a].compact, boundary_band(anns[a].compact, d=d)) for a in names}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            ov, bo = _overlaps(image, anns[a], anns[b], bands.get(a), bands.get(b))
            _direction(out, image, a, b, ov, bo, options)
            _direction(out, image, b, a, ov.transpose(), bo.transpose() if bo else None,
                       options)
    return out


def _overlaps(image: str, a: PanopticAnnotation, b: PanopticAnnotation,
              band_a: np.ndarray | None,
              band_b: np.ndarray | None) -> tuple[Overlap, BoundaryOverlap | None]:
    na, nb = len(a.segments), len(b.segments)
    if band_a is None or band_b is None:
        table, bo = overlap_table(a.compact, b.compact, na + 1, nb + 1), None
    else:
        table, bo = joint_overlap_banded(band_a, band_b, na, nb)
    return overlap_from_table(table, a.segments, b.segments, image=image), bo


def _direction(out: Columns, image: str, ref: str, other: str, ov: Overlap,
               bo: BoundaryOverlap | None, options: Options) -> None:
    ev = evaluate_pair(ov, bo)
    diag = diagnose(ov, ev.matches, threshold=options.diagnostic_threshold,
                    things=options.things)
    nr = ov.ref_ids.size
    k = ev.counts["category_id"].size
    out.add("counts", image=np.full(k, image, dtype=object), ref=np.full(k, ref, dtype=object),
            other=np.full(k, other, dtype=object), **ev.counts)
    m = ev.matches
    boundary_iou = np.full(nr, np.nan)
    boundary_score = np.full(nr, np.nan)
    boundary_matched = np.zeros(nr, bool)
    if ev.boundary_iou is not None and ev.boundary_score is not None:
        boundary_iou[m.ref_index] = ev.boundary_iou
        boundary_score[m.ref_index] = ev.boundary_score
    if ev.boundary_matches is not None:
        boundary_matched[ev.boundary_matches.ref_index] = True
    out.add(
        "segments",
        image=np.full(nr, image, dtype=object),
        annotator=np.full(nr, ref, dtype=object),
        other=np.full(nr, other, dtype=object),
        segment_id=ov.ref_ids,
        category_id=ov.ref_categories,
        iscrowd=ov.ref_crowd,
        area=ov.ref_area,
        partner_segment_id=_ids(ov.other_ids, diag.partner),
        partner_category_id=_ids(ov.other_categories, diag.partner),
        iou=diag.iou,
        boundary_iou=boundary_iou,
        boundary_score=boundary_score,
        boundary_matched=boundary_matched,
        status=diag.status,
        diag_partner_segment_id=_ids(ov.other_ids, diag.diag_partner),
        diag_partner_category_id=_ids(ov.other_categories, diag.diag_partner),
        diag_iou=diag.diag_iou,
        best_partner_any=_ids(ov.other_ids, diag.best_partner_any),
        best_iou_any=diag.best_iou_any,
    )


def _ids(ids: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``ids[index]`` with -1 (no partner) kept as -1 (turned into <NA> by the caller)."""
    return np.where(index >= 0, ids[np.maximum(index, 0)] if ids.size else -1, -1)
