"""Ambiguous regions: connected areas of disagreement, described and ranked.

A pixel is *disputed* when its semantic or instance disagreement (see :mod:`agreement.disagreement`)
exceeds ``min_disagreement``. The disputed mask is split into a *thick* part (what survives a
morphological opening with a ``(2w+1)`` square, ``w`` = the boundary tolerance) and a *thin* rest;
connected components (8-connectivity, ``scipy.ndimage.label``) of each part are regions. Per
region, every annotator's label histogram comes from one ``bincount`` over the region pixels.

Kinds, decided in this order:

merge-split
    The region's instance disagreement outweighs its semantic disagreement: annotators agree on
    the class but not on the instances (``merged_by`` lists the annotators whose segment there is
    at least 1.5 times larger than the smallest annotator's).
unlabeled gap (thin)
    A thin region (no ``(2w+1)`` square fits in it) where one of the two classes is void: a band
    some annotators left unlabelled along a boundary.
boundary placement
    Another thin region: annotators put the boundary between ``class_a`` and ``class_b`` at
    different places, less than about ``2w`` pixels apart.
missed object
    One of the two classes is a thing, the other is stuff or void: some annotators drew an object
    the others did not.
unlabeled gap
    One of the two classes is void: some annotators left the area unlabelled.
class confusion
    Both classes are labels (stuff or thing, not one of each): the area is given different
    classes.

``class_a`` / ``class_b`` are the two labels with the most annotator-pixels in the region;
``annotators_a`` / ``annotators_b`` the annotators using more of one than the other, ordered so
that side *a* has at least as many annotators (side *b* is the minority, the dissenters).
``severity`` is the sum over the region of semantic plus instance disagreement (a pixel count
weighted by the share of dissenting annotators).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import ndimage

from .disagreement import Heatmaps
from .model import Categories

__all__ = ["KINDS", "REGION_COLUMNS", "ambiguous_regions", "annotator_summary",
           "class_pair_summary"]

KINDS = ("boundary placement", "class confusion", "merge-split", "missed object", "unlabeled gap")

REGION_COLUMNS = [
    "image", "region", "kind", "class_pair", "class_a", "class_b", "category_a", "category_b",
    "annotators_a", "annotators_b", "merged_by", "area", "bbox_x", "bbox_y", "bbox_w", "bbox_h",
    "mean_disagreement", "severity",
]


def _opening(mask: npt.NDArray[np.bool_], w: int) -> npt.NDArray[np.bool_]:
    size = 2 * int(w) + 1
    m = mask.view(np.uint8)
    eroded = ndimage.minimum_filter(m, size=size, mode="nearest")
    return ndimage.maximum_filter(eroded, size=size, mode="nearest").astype(bool) & mask


def _components(mask: npt.NDArray[np.bool_], w: int):
    """Region id map (thick components first, then thin ones) and the thin flags."""
    thick = _opening(mask, w)
    eight = np.ones((3, 3), bool)
    regions, n_thick = ndimage.label(thick, structure=eight)
    thin_lab, n_thin = ndimage.label(mask & ~thick, structure=eight)
    regions[thin_lab > 0] = thin_lab[thin_lab > 0] + n_thick
    return regions, np.arange(n_thick + n_thin + 1) > n_thick


def _name(label: int, h: Heatmaps, categories: Categories) -> str:
    return "void" if label == 0 else categories.name(h.category_ids[label - 1])


def _sides(hist: npt.NDArray, c1: int, c2: int, names: tuple[str, ...]):
    a = tuple(n for n, row in zip(names, hist, strict=True) if row[c1] and row[c1] >= row[c2])
    b = tuple(n for n, row in zip(names, hist, strict=True) if row[c2] > row[c1])
    return a, b


def _merged_by(h: Heatmaps, sl: tuple[slice, slice], inside: npt.NDArray[np.bool_],
               areas: list[npt.NDArray[np.int64]]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Annotators whose segment in the region is >= 1.5x the smallest one, and the others."""
    size = {}
    for i, name in enumerate(h.annotators):
        segs = h.compact[i][sl][inside]
        segs = segs[segs > 0]
        if segs.size:
            size[name] = areas[i][np.bincount(segs).argmax()]
    if not size:
        return (), ()
    small = min(size.values())
    merged = tuple(n for n, s in size.items() if s >= 1.5 * small)
    return merged, tuple(n for n in size if n not in merged)


def _kind(thin: bool, instance: float, semantic: float, c1: int, c2: int,
          thing: npt.NDArray[np.bool_]) -> str:
    if instance > semantic:
        return "merge-split"
    if thin:
        return "unlabeled gap" if 0 in (c1, c2) else "boundary placement"
    if thing[c1] != thing[c2]:
        return "missed object"
    if 0 in (c1, c2):
        return "unlabeled gap"
    return "class confusion"


def ambiguous_regions(h: Heatmaps, categories: Categories, *, min_disagreement: float = 0.0,
                      min_area: int | None = None, width: int | None = None) -> pd.DataFrame:
    """Connected regions of disagreement of one image, ranked by severity.

    Parameters
    ----------
    h : Heatmaps
        The image's heatmaps (:func:`agreement.disagreement.heatmaps`).
    categories : Categories
        For names and thing/stuff.
    min_disagreement : float
        A pixel is disputed when its semantic or instance disagreement is above this.
    min_area : int, optional
        Smallest region kept, in pixels; default ``max(16, H * W / 10_000)``.
    width : int, optional
        Half-width of the opening separating thin from thick regions; default ``h.d``.

    Returns
    -------
    DataFrame
        Columns :data:`REGION_COLUMNS` (documented in the module notes), sorted by ``severity``
        descending.
    """
    shape = h.shape
    min_area = max(16, shape[0] * shape[1] // 10_000) if min_area is None else int(min_area)
    mask = (h.semantic > min_disagreement) | (h.instance > min_disagreement)
    regions, thin = _components(mask, h.d if width is None else width)
    area = np.bincount(regions.ravel(), minlength=thin.size)
    keep = np.flatnonzero(area >= min_area)
    keep = keep[keep > 0]
    if keep.size == 0:
        return pd.DataFrame(columns=REGION_COLUMNS)
    remap = np.full(thin.size, -1, np.int64)
    remap[keep] = np.arange(keep.size)
    flat = remap[regions.ravel()]
    idx = np.flatnonzero(flat >= 0)
    reg = flat[idx]
    k = len(h.category_ids) + 1
    hist = np.stack([np.bincount(reg * k + lab.ravel()[idx], minlength=keep.size * k)
                     .reshape(keep.size, k) for lab in h.labels])
    sem = np.bincount(reg, weights=h.semantic.ravel()[idx], minlength=keep.size)
    inst = np.bincount(reg, weights=h.instance.ravel()[idx], minlength=keep.size)
    thing = np.array([False] + [categories[c].isthing for c in h.category_ids])
    boxes = ndimage.find_objects(regions)
    areas: list[npt.NDArray[np.int64]] = []
    rows = []
    for r, label in enumerate(keep):
        votes = hist[:, r].sum(0)
        c1, c2 = (int(x) for x in np.argsort(-votes, kind="stable")[:2])
        c2 = c2 if votes[c2] > 0 else c1
        kind = _kind(bool(thin[label]), inst[r], sem[r], c1, c2, thing)
        sl = boxes[label - 1]
        merged: tuple[str, ...] = ()
        if kind == "merge-split":
            areas = areas or [np.bincount(c.ravel()) for c in h.compact]
            merged, rest = _merged_by(h, sl, regions[sl] == label, areas)
            side_a, side_b, c2 = merged, rest, c1
        else:
            side_a, side_b = _sides(hist[:, r], c1, c2, h.annotators)
        if len(side_b) > len(side_a):
            side_a, side_b, c1, c2 = side_b, side_a, c2, c1
        na, nb = _name(c1, h, categories), _name(c2, h, categories)
        rows.append({
            "image": h.image, "region": int(label), "kind": kind,
            "class_pair": " <-> ".join(sorted((na, nb))), "class_a": na, "class_b": nb,
            "category_a": 0 if c1 == 0 else h.category_ids[c1 - 1],
            "category_b": 0 if c2 == 0 else h.category_ids[c2 - 1],
            "annotators_a": side_a, "annotators_b": side_b, "merged_by": merged,
            "area": int(area[label]), "bbox_x": sl[1].start, "bbox_y": sl[0].start,
            "bbox_w": sl[1].stop - sl[1].start, "bbox_h": sl[0].stop - sl[0].start,
            "mean_disagreement": float((sem[r] + inst[r]) / area[label]),
            "severity": float(sem[r] + inst[r]),
        })
    out = pd.DataFrame(rows, columns=REGION_COLUMNS)
    return out.sort_values("severity", ascending=False, kind="stable").reset_index(drop=True)


def class_pair_summary(regions: pd.DataFrame) -> pd.DataFrame:
    """Per class pair across a study: ``regions``, ``pixels``, ``images``, ``annotators``.

    ``annotators`` counts the distinct dissenting (side *b*) annotators; ``dissenters`` lists
    them; ``severity`` is summed; ``kind`` is the most frequent kind. Sorted by severity.
    """
    cols = ["class_pair", "regions", "pixels", "images", "annotators", "dissenters", "severity",
            "kind"]
    if regions.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for pair, g in regions.groupby("class_pair", sort=False):
        dissent = sorted({a for side in g["annotators_b"] for a in side})
        rows.append({"class_pair": pair, "regions": len(g), "pixels": int(g["area"].sum()),
                     "images": g["image"].nunique(), "annotators": len(dissent),
                     "dissenters": tuple(dissent), "severity": float(g["severity"].sum()),
                     "kind": g["kind"].value_counts().index[0]})
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values("severity", ascending=False, kind="stable").reset_index(drop=True)


def annotator_summary(regions: pd.DataFrame, annotators: tuple[str, ...]) -> pd.DataFrame:
    """Per annotator: regions and pixels where it dissents (side *b*) and their severity.

    ``dissent_share`` is the share of the regions the annotator takes part in (either side)
    where it is in the minority. Sorted by dissent severity.
    """
    rows = []
    for name in annotators:
        minority = regions[[name in s for s in regions["annotators_b"]]]
        involved = sum(name in a or name in b for a, b in zip(
            regions["annotators_a"], regions["annotators_b"], strict=True))
        rows.append({"annotator": name, "dissent_regions": len(minority),
                     "dissent_pixels": int(minority["area"].sum()),
                     "dissent_severity": float(minority["severity"].sum()),
                     "regions": involved,
                     "dissent_share": len(minority) / involved if involved else float("nan")})
    out = pd.DataFrame(rows, columns=["annotator", "dissent_regions", "dissent_pixels",
                                      "dissent_severity", "regions", "dissent_share"])
    return out.sort_values("dissent_severity", ascending=False, kind="stable").reset_index(
        drop=True)
