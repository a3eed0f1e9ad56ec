"""How N annotators vote at every position of one image (a pixel, or a tuple of segments).

:func:`count_votes` counts, per annotator, how many annotators share its label, and elects the
majority label (ties: the first annotator's among the tied ones). The heatmaps, the consensus
and the leave-one-out scores all start from these counts (:meth:`agreement.image.maps.ImageMaps.
votes` computes them once per image and void mode).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import numpy.typing as npt

from ..metrics.pixel import VoidMode, _check_void

__all__ = ["Votes", "agreement_counts", "count_votes"]


@dataclass(frozen=True, eq=False)
class Votes:
    """How the annotators of one image vote at every position (a pixel, or a tuple of segments:
    :mod:`agreement.image.tuples`; ``...`` below is the positions' shape).

    Attributes
    ----------
    labels : ndarray, shape (N, ...)
        Each annotator's label.
    valid : ndarray of bool, shape (N, ...), or None
        Which votes count (None: all, ``void="label"``).
    agree : ndarray of uint8, shape (N, ...)
        Per annotator, how many annotators (itself included) share its label at the position.
    first : ndarray of bool, shape (N, ...)
        No earlier annotator gives the position the same label.
    n : ndarray of uint8, shape (...)
        Annotators voting at the position.
    votes : ndarray of uint8, shape (...)
        The largest vote.
    best : ndarray of intp, shape (...)
        The first annotator holding the largest vote.
    majority : ndarray, shape (...)
        Its label (ties: the label of the first annotator among the tied ones).
    tie : ndarray of bool, shape (...)
        Two or more labels share the largest vote.
    """

    labels: npt.NDArray[np.integer]
    valid: npt.NDArray[np.bool_] | None
    agree: npt.NDArray[np.uint8]
    first: npt.NDArray[np.bool_]
    n: npt.NDArray[np.uint8]
    votes: npt.NDArray[np.uint8]
    best: npt.NDArray[np.intp]
    majority: npt.NDArray[np.integer]
    tie: npt.NDArray[np.bool_]


def agreement_counts(labels: npt.NDArray, valid: npt.NDArray | None
                     ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]]:
    """Per annotator: how many annotators (itself included) share its label at each pixel, and
    whether no earlier annotator gives that label."""
    n_ann = labels.shape[0]
    agree = np.ones(labels.shape, np.uint8) if valid is None else valid.astype(np.uint8)
    first = np.ones(labels.shape, bool) if valid is None else valid.copy()
    for i, j in combinations(range(n_ann), 2):
        eq = labels[i] == labels[j]
        if valid is not None:
            eq &= valid[i] & valid[j]
        agree[i] += eq
        agree[j] += eq
        first[j] &= ~eq
    return agree, first


def count_votes(labels: npt.NDArray[np.integer], *, void: VoidMode = "label") -> Votes:
    """The votes of stacked labels ``(N, ...)``: maps, or the labels of an image's tuples (see
    :class:`Votes`)."""
    _check_void(void)
    valid = None if void == "label" else labels != 0
    agree, first = agreement_counts(labels, valid)
    n = (np.full(labels.shape[1:], labels.shape[0], np.uint8) if valid is None
         else valid.sum(0, np.uint8))
    top = agree.max(0)
    best = agree.argmax(0)
    majority = np.take_along_axis(labels, best[None], 0)[0]
    tie = ((agree == top) & (top > 0)).sum(0) > top
    return Votes(labels, valid, agree, first, n, top, best, majority, tie)
