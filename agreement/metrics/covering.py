"""Parsing covering: segmentation covering per class, for panoptic annotations (DeeperLab).

Yang et al. (DeeperLab, 2019) extend segmentation covering to classes: for each class ``c``,

``Cov_c = sum over regions R of class c in ref of |R| * max IoU(R, R') / sum |R|``

where ``R'`` ranges over ``other``'s regions *of the same class*, and parsing covering is the mean
of ``Cov_c`` over the classes the reference uses. As in the DeeperLab code
(``deeplab/evaluation/parsing_covering.py``): the reference's void is ignored (its pixels count
nowhere, so an ``other`` region's area excludes them); a reference region's pixels on ``other``'s
void stay in its area; over several images each image's areas are divided by its pixel count
before they are summed (``normalize_by_image_size=True``). The reference's **crowd** segments are
void too, as in DeepLab's COCO evaluation (``eval_coco_format.py`` gives ground-truth crowd
segments the ignored label; ``crowd="region"`` counts them as ordinary regions instead, as this
package did before); ``other``'s crowd flags play no role.

Unlike PQ, covering has no 0.5 threshold: a class split differently by two annotators keeps a
partial score, so comparing it with PQ per class tells "different granularity" (covering high, PQ
low) from "different objects" (both low).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..labels import overlap_table
from ..model import PanopticAnnotation
from .counts import ratio

__all__ = ["ParsingCovering", "parsing_covering", "parsing_covering_table"]


@dataclass(frozen=True)
class ParsingCovering:
    """Per-class sums of parsing covering; additive over images and pairs (``a + b``).

    Attributes
    ----------
    category_ids : tuple of int
        Classes the reference uses (labelled area > 0), sorted.
    weighted_iou : tuple of float
        Per class, ``sum |R| * best same-class IoU`` (areas normalised by image size if asked).
    gt_area : tuple of float
        Per class, ``sum |R|`` (same normalisation).
    """

    category_ids: tuple[int, ...]
    weighted_iou: tuple[float, ...]
    gt_area: tuple[float, ...]

    @property
    def per_class(self) -> dict[int, float]:
        """Category id -> covering of that class."""
        return {c: w / a for c, w, a in zip(self.category_ids, self.weighted_iou, self.gt_area,
                                        strict=True)
                if a > 0}

    @property
    def value(self) -> float:
        """Parsing covering: the mean over classes of the per-class covering (NaN if no class)."""
        vals = list(self.per_class.values())
        return float(np.mean(vals)) if vals else float("nan")

    def __add__(self, other: ParsingCovering) -> ParsingCovering:
        acc: dict[int, list[float]] = {}
        for pc in (self, other):
            for c, w, a in zip(pc.category_ids, pc.weighted_iou, pc.gt_area, strict=True):
                slot = acc.setdefault(c, [0.0, 0.0])
                slot[0] += w
                slot[1] += a
        cats = tuple(sorted(acc))
        return ParsingCovering(cats, tuple(acc[c][0] for c in cats), tuple(acc[c][1] for c in cats))

    def to_frame(self) -> pd.DataFrame:
        """One row per class: ``category_id``, ``weighted_iou``, ``gt_area``, ``covering``."""
        w = np.asarray(self.weighted_iou, dtype=float)
        a = np.asarray(self.gt_area, dtype=float)
        cov = ratio(w, a)
        return pd.DataFrame({"category_id": list(self.category_ids), "weighted_iou": w,
                             "gt_area": a, "covering": cov})


def parsing_covering_table(
    table: npt.ArrayLike,
    ref_categories: npt.ArrayLike,
    other_categories: npt.ArrayLike,
    *,
    scale: float = 1.0,
    ref_void: npt.ArrayLike | None = None,
) -> ParsingCovering:
    """Parsing covering sums from one contingency table.

    Parameters
    ----------
    table : array_like of int, shape (K + 1, L + 1)
        Overlap table of the compact maps, rows = ``ref`` (row 0 void), columns = ``other``.
    ref_categories : array_like of int, shape (K,)
        Category of each reference region (compact order).
    other_categories : array_like of int, shape (L,)
        Category of each region of ``other``.
    scale : float
        Multiplies every area (``1 / pixels`` to normalise by image size).
    ref_void : array_like of bool, shape (K,), optional
        Reference regions to treat as void (their crowd flags, by DeepLab's rule).

    Returns
    -------
    ParsingCovering

    Examples
    --------
    >>> pc = parsing_covering_table([[0, 0, 0], [0, 2, 0], [0, 2, 2]], [7, 7], [9, 7])
    >>> pc.category_ids, pc.weighted_iou, pc.gt_area  # only the class-7 column may cover
    ((7,), (2.0,), (6.0,))
    >>> parsing_covering_table([[0, 0, 0], [0, 2, 0], [0, 2, 2]], [7, 7], [9, 7],
    ...                        ref_void=[True, False]).weighted_iou  # region 1 is a crowd
    (2.0,)
    """
    t = np.asarray(table, dtype=np.int64)
    ref_cat = np.asarray(ref_categories, dtype=np.int64)
    oth_cat = np.asarray(other_categories, dtype=np.int64)
    if t.shape != (ref_cat.size + 1, oth_cat.size + 1):
        raise ValueError(f"table must be {(ref_cat.size + 1, oth_cat.size + 1)} for these "
                         f"categories, got {t.shape}")
    keep = np.ones(ref_cat.size, bool) if ref_void is None else ~np.asarray(ref_void, bool)
    ref_cat = ref_cat[keep]
    ref_area = t[1:][keep].sum(axis=1)
    inter = t[1:, 1:][keep]
    other_area = inter.sum(axis=0)  # the reference's void does not count
    union = ref_area[:, None] + other_area[None, :] - inter
    same = ref_cat[:, None] == oth_cat[None, :]
    iou = np.where(same, ratio(inter, union, undefined=0.0), 0.0)
    best = iou.max(axis=1) if oth_cat.size else np.zeros(ref_cat.size)
    used = ref_area > 0
    cats, inverse = np.unique(ref_cat[used], return_inverse=True)
    area = ref_area[used].astype(np.float64) * scale
    weighted = np.bincount(inverse, weights=area * best[used], minlength=cats.size)
    areas = np.bincount(inverse, weights=area, minlength=cats.size)
    return ParsingCovering(tuple(int(c) for c in cats), tuple(float(w) for w in weighted),
                           tuple(float(a) for a in areas))


def parsing_covering(
    ref: PanopticAnnotation, other: PanopticAnnotation, *, normalize_by_image_size: bool = True,
    crowd: Literal["void", "region"] = "void",
) -> ParsingCovering:
    """Parsing covering of ``ref`` by ``other`` (two panoptic annotations of one image).

    Parameters
    ----------
    ref, other : PanopticAnnotation
        Same image size.
    normalize_by_image_size : bool
        Divide areas by the image's pixel count (DeeperLab's default); it only matters when
        results of images of different sizes are added.
    crowd : {"void", "region"}
        ``ref``'s crowd segments are void (DeepLab's COCO evaluation, the default) or ordinary
        regions.

    Returns
    -------
    ParsingCovering
        ``.value`` is the parsing covering, ``.per_class`` the covering of each class.

    Examples
    --------
    >>> a = PanopticAnnotation.from_map(np.array([[1, 1, 2, 2]]), {1: 7, 2: 7})
    >>> b = PanopticAnnotation.from_map(np.array([[1, 1, 1, 1]]), {1: 7})
    >>> parsing_covering(a, b).value
    0.5
    """
    if ref.shape != other.shape:
        raise ValueError(f"annotations must have the same shape, got {ref.shape} and {other.shape}")
    table = overlap_table(ref.compact, other.compact, len(ref.segments) + 1,
                          len(other.segments) + 1)
    if crowd not in ("void", "region"):
        raise ValueError(f"crowd must be 'void' or 'region', got {crowd!r}")
    scale = 1.0 / (ref.shape[0] * ref.shape[1]) if normalize_by_image_size else 1.0
    void = [s.iscrowd for s in ref.segments] if crowd == "void" else None
    return parsing_covering_table(table, ref.category_ids, other.category_ids, scale=scale,
                                  ref_void=void)
