"""Panoptic quality of every annotator pair of one image, read from the pairs' joint tables.

Both directions of a pair come from one joint table (:meth:`agreement.image.maps.ImageMaps.pair`;
the table of (b, a) is the transpose of (a, b)): the panoptic matching, the PQ and Boundary PQ
counts (:func:`agreement.metrics.boundary.evaluate_pair`) and the diagnosis of every reference
segment (:func:`agreement.matching.diagnose`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import AnnotationError
from ..matching import Diagnosis, Overlap, diagnose
from ..metrics.boundary import BoundaryOverlap, PairEvaluation, evaluate_pair
from .maps import ImageMaps

__all__ = ["Direction", "evaluate_pairs"]


@dataclass(frozen=True, eq=False)
class Direction:
    """One ordered pair of one image: ``ref`` in the reference role, ``other`` scored.

    Attributes
    ----------
    ref, other : str
    overlap : Overlap
    boundary : BoundaryOverlap or None
    evaluation : PairEvaluation
        Matches and additive counts (PQ, and Boundary PQ with ``boundary``).
    diagnosis : Diagnosis or None
        Why each reference segment did or did not match (None when not asked for).
    """

    ref: str
    other: str
    overlap: Overlap
    boundary: BoundaryOverlap | None
    evaluation: PairEvaluation
    diagnosis: Diagnosis | None


def evaluate_pairs(maps: ImageMaps, names: Sequence[str], *, boundary: bool = True,
                   diagnostic_threshold: float = 0.2, diagnoses: bool = True
                   ) -> list[Direction]:
    """Evaluate every ordered pair of the annotators ``names`` of one image.

    Parameters
    ----------
    maps : ImageMaps
        The image (built with a ``dilation_ratio`` when ``boundary``).
    names : sequence of str
        The annotators to pair (those without an annotation of the image are left out).
    boundary : bool
        Also count Boundary PQ.
    diagnostic_threshold : float
        Lowest IoU of the diagnostic matching (:func:`agreement.matching.diagnose`).
    diagnoses : bool
        Diagnose each reference segment (``Direction.diagnosis``; None without).

    Returns
    -------
    list of Direction
        ``(a, b)`` then ``(b, a)`` for each unordered pair in study order.

    Raises
    ------
    AnnotationError
        Two annotators' maps differ in size, or a segment has no pixel.
    """
    names = [a for a in maps.names if a in names]
    shapes = {a: maps.annotations[a].shape for a in names}
    if len(set(shapes.values())) > 1:
        raise AnnotationError(f"annotations must all have the same size, got {shapes} "
                              "(height, width)", image=maps.image)
    things = maps.categories.thing_ids
    out = []
    for a, b in maps.pairs(names):
        table = maps.pair(a, b)
        for ref, other in ((a, b), (b, a)):
            ov = table.overlap(ref)
            bo = table.boundary_overlap(ref) if boundary else None
            ev = evaluate_pair(ov, bo)
            diag = (diagnose(ov, ev.matches, threshold=diagnostic_threshold, things=things)
                    if diagnoses else None)
            out.append(Direction(ref, other, ov, bo, ev, diag))
    return out
