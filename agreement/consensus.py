"""Consensus panoptic maps from N annotators, and each annotator's score against the others.

The consensus category of a pixel is the majority of the annotators' categories; a pixel whose
largest vote is tied, or held by no more than ``min_share`` of the annotators, is left void and
counted. Instances come from matched segments: segments of different annotators matched to each
other (same category, IoU > 0.5) form one *cluster*; all segments of a stuff category form one
cluster. Among the annotators voting for the consensus category at a pixel, the cluster with most
votes gives the consensus segment (ties: the first annotator's cluster, in study order).
Consensus segments are never crowd.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .disagreement import _votes, match_lut
from .errors import AnnotationError
from .matching import match_segments, segment_overlap
from .metrics.pixel import VoidMode, _check_void, label_map
from .metrics.pq import pq_counts, pq_result
from .model import Categories, ImageInfo, PanopticAnnotation, Segment, Study

__all__ = ["Consensus", "LeaveOneOut", "consensus", "leave_one_out"]


@dataclass(frozen=True, eq=False)
class Consensus:
    """The consensus of one image.

    Attributes
    ----------
    annotation : PanopticAnnotation
        The consensus map (segment ids 1..K, 0 = void), ready for
        :func:`agreement.write_coco_panoptic`.
    annotators : tuple of str
        Whose annotations made it.
    tie_pixels : int
        Pixels left void because two or more categories shared the largest vote.
    weak_pixels : int
        Pixels left void because the largest vote, for a category, was not above ``min_share`` of
        the annotators (a weak majority *for void* is void anyway and not counted).
    support : ndarray of float32, shape (H, W)
        Share of the voting annotators agreeing with the consensus category (0 where void).
    """

    annotation: PanopticAnnotation
    annotators: tuple[str, ...]
    tie_pixels: int
    weak_pixels: int
    support: npt.NDArray[np.float32]

    def to_dict(self) -> dict:
        """Counts as a flat record: ``image``, ``annotators``, ``segments``, ``*_pixels``."""
        return {"image": self.annotation.image.file_name, "annotators": len(self.annotators),
                "segments": len(self.annotation.segments),
                "void_pixels": self.annotation.void_pixels, "tie_pixels": self.tie_pixels,
                "weak_pixels": self.weak_pixels}

    def __repr__(self) -> str:
        d = self.to_dict()
        return (f"Consensus({d['image']!r}: {d['annotators']} annotators, {d['segments']} "
                f"segments, {d['void_pixels']} void pixels ({d['tie_pixels']} ties, "
                f"{d['weak_pixels']} weak))")

    def _repr_html_(self) -> str:
        from ._html import block, figures

        d = self.to_dict()
        support = self.support[self.support > 0]
        return block(f"Consensus of {d['image']}", [
            figures({k: v for k, v in d.items() if k != "image"}),
            figures({"mean support": float(support.mean()) if support.size else np.nan,
                     "annotators": ", ".join(self.annotators)})])


def _clusters(anns: list[PanopticAnnotation], categories: Categories,
              luts: Mapping[tuple[int, int], npt.NDArray[np.int64]] | None = None
              ) -> tuple[list[npt.NDArray[np.int64]], npt.NDArray[np.int64]]:
    """Per annotator a LUT compact id -> cluster (0 = void), and each cluster's category.

    ``luts[(i, j)]`` may hold precomputed :func:`match_lut` results.
    """
    offsets = np.cumsum([0] + [len(a.segments) for a in anns])
    total = int(offsets[-1])
    cats = np.concatenate([a.category_ids for a in anns]) if total else np.zeros(0, np.int64)
    rows, cols = [], []
    for i, j in combinations(range(len(anns)), 2):
        lut = luts[(i, j)] if luts is not None else match_lut(anns[i], anns[j])
        src = np.flatnonzero(lut > 0)
        rows.append(src - 1 + offsets[i])
        cols.append(lut[src] - 1 + offsets[j])
    stuff = np.flatnonzero([not categories[int(c)].isthing for c in cats])
    if stuff.size:  # chain every stuff segment to the first one of its category
        order = stuff[np.argsort(cats[stuff], kind="stable")]
        same = cats[order[1:]] == cats[order[:-1]]
        rows.append(order[:-1][same])
        cols.append(order[1:][same])
    r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    graph = coo_matrix((np.ones(r.size), (r, c)), shape=(total, total))
    _, comp = connected_components(graph, directed=False)
    comp = comp.astype(np.int64) + 1
    cluster_cat = np.zeros(int(comp.max(initial=0)) + 1, np.int64)
    cluster_cat[comp] = cats
    out = [np.concatenate([[0], comp[offsets[i]:offsets[i + 1]]]) for i in range(len(anns))]
    return out, cluster_cat


def consensus(annotations: Mapping[str, PanopticAnnotation], categories: Categories, *,
              min_share: float = 0.5, void: VoidMode = "label", image: str | None = None,
              matches: Mapping[tuple[str, str], npt.NDArray[np.int64]] | None = None,
              labels: Mapping[str, npt.NDArray[np.int32]] | None = None) -> Consensus:
    """Majority-vote consensus panoptic map of one image.

    Parameters
    ----------
    annotations : mapping of str to PanopticAnnotation
        At least one annotation of the image (with one, the consensus is a relabelled copy).
    categories : Categories
    min_share : float
        The winning category needs strictly more than ``min_share`` of the voting annotators
        (0.5: a strict majority). Use 0 to accept any untied plurality.
    void : {"label", "exclude"}
        ``"label"``: leaving a pixel void is a vote for void; ``"exclude"``: only annotators who
        label the pixel vote.
    image : str, optional
        File name of the consensus annotation; default the first annotation's.
    matches : mapping of (str, str) to ndarray, optional
        Precomputed :func:`~agreement.disagreement.match_lut` of each annotator pair ``(a, b)``
        with ``a`` before ``b`` in ``annotations`` (to share the matching between calls).
    labels : mapping of str to ndarray, optional
        Precomputed :func:`~agreement.metrics.pixel.label_map` of each annotation over
        ``tuple(categories)`` (to share the category maps between calls).

    Returns
    -------
    Consensus

    Examples
    --------
    >>> from agreement import Category
    >>> cats = Categories([Category(1, "road", False), Category(2, "walk", False)])
    >>> a = PanopticAnnotation.from_map([[1, 1, 2, 2]], {1: 1, 2: 2})
    >>> b = PanopticAnnotation.from_map([[1, 2, 2, 2]], {1: 1, 2: 2})
    >>> c = PanopticAnnotation.from_map([[1, 1, 1, 0]], {1: 1})
    >>> res = consensus({"a": a, "b": b, "c": c}, cats)
    >>> res.annotation.ids.tolist(), res.tie_pixels, res.weak_pixels
    ([[1, 1, 2, 2]], 0, 0)
    """
    _check_void(void)
    if not 0 <= min_share < 1:
        raise AnnotationError(f"min_share must be in [0, 1), got {min_share}")
    anns = list(annotations.values())
    if not anns:
        raise AnnotationError("consensus needs at least 1 annotation, got 0")
    shapes = sorted({a.shape for a in anns})
    if len(shapes) > 1:
        raise AnnotationError(f"annotations of one image must have one shape, got {shapes}",
                              image=image or anns[0].image.file_name)
    ids = tuple(categories)
    labels = np.stack([label_map(a, ids) if labels is None else labels[who]
                       for who, a in annotations.items()])
    valid = None if void == "label" else labels != 0
    agree, _ = _votes(labels, valid)
    n = np.full(labels.shape[1:], len(anns)) if valid is None else valid.sum(0)
    votes = agree.max(0)
    tie = ((agree == votes) & (votes > 0)).sum(0) > votes
    best = agree.argmax(0)
    cons = np.take_along_axis(labels, best[None], 0)[0]
    weak = ~tie & (cons > 0) & (votes <= min_share * n)
    cons[tie | weak] = 0
    names = list(annotations)
    pair_luts = None if matches is None else {
        (i, j): matches[(names[i], names[j])] for i, j in combinations(range(len(names)), 2)}
    luts, cluster_cat = _clusters(anns, categories, pair_luts)
    g = np.stack([lut[a.compact] for lut, a in zip(luts, anns, strict=True)])
    gvotes, _ = _votes(g, (labels == cons) & (cons > 0))
    chosen = np.take_along_axis(g, gvotes.argmax(0)[None], 0)[0]
    chosen[cons == 0] = 0
    # clusters present, renumbered 1..K in id order (void stays 0): a bincount, not a sort
    present = np.bincount(chosen.ravel(), minlength=cluster_cat.size) > 0
    present[0] = False
    seg_map = np.cumsum(present, dtype=np.int32)[chosen]
    seg_cats = cluster_cat[np.flatnonzero(present)]
    areas = np.bincount(seg_map.ravel(), minlength=seg_cats.size + 1)
    boxes = ndimage.find_objects(seg_map)
    segments = tuple(
        Segment(k + 1, int(cat), False, int(areas[k + 1]),
                (sl[1].start, sl[0].start, sl[1].stop - sl[1].start, sl[0].stop - sl[0].start))
        for k, (cat, sl) in enumerate(zip(seg_cats, boxes, strict=True)))
    first = anns[0].image
    info = ImageInfo(image or first.file_name, first.height, first.width, first.id)
    nf = n.astype(np.float32)
    support = np.divide(votes.astype(np.float32), nf, out=np.zeros_like(nf), where=cons > 0)
    return Consensus(PanopticAnnotation(info, seg_map, segments), tuple(annotations),
                     int(tie.sum()), int(weak.sum()), support)


@dataclass(frozen=True, eq=False)
class LeaveOneOut:
    """Each annotator's panoptic quality against the consensus of the others.

    Attributes
    ----------
    counts : DataFrame
        Additive: ``image``, ``annotator``, ``others`` (annotators in the consensus),
        ``category_id``, ``tp``, ``fp``, ``fn``, ``iou_sum``; the consensus is the reference.
    per_annotator : DataFrame
        ``annotator``, ``images``, ``pq``, ``sq``, ``rq`` (All), ``pq_things``, ``pq_stuff``,
        sorted by ``pq`` ascending (the annotator furthest from the others first).
    per_class : DataFrame
        ``annotator``, ``category_id``, ``category``, ``tp``, ``fp``, ``fn``, ``pq``, ``sq``,
        ``rq``.
    """

    counts: pd.DataFrame
    per_annotator: pd.DataFrame
    per_class: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """The per-annotator table."""
        return self.per_annotator

    def __repr__(self) -> str:
        worst = (f", lowest PQ {self.per_annotator['annotator'].iloc[0]} "
                 f"{self.per_annotator['pq'].iloc[0]:.4f}" if len(self.per_annotator) else "")
        return (f"LeaveOneOut({len(self.per_annotator)} annotators, "
                f"{self.counts['image'].nunique()} images{worst})")

    def _repr_html_(self) -> str:
        from ._html import block, table

        per = self.per_class[self.per_class["pq"].notna()].sort_values("pq")
        return block("Leave-one-out: each annotator against the consensus of the others", [
            table(self.per_annotator, caption="Per annotator, furthest from the others first"),
            table(per, caption="Per annotator and class, lowest PQ first")])


def pair_luts(anns: Mapping[str, PanopticAnnotation]
              ) -> dict[tuple[str, str], npt.NDArray[np.int64]]:
    """:func:`~agreement.disagreement.match_lut` of every annotator pair ``(a, b)``, ``a``
    before ``b`` in ``anns`` (what :func:`consensus` and heatmaps take as ``matches``)."""
    names = list(anns)
    return {(a, b): match_lut(anns[a], anns[b]) for a, b in combinations(names, 2)}


def _loo_part(image: str, anns: dict[str, PanopticAnnotation], *, cats: Categories,
              min_share: float, void: VoidMode,
              luts: dict[tuple[str, str], npt.NDArray[np.int64]] | None = None,
              labels: dict[str, npt.NDArray[np.int32]] | None = None) -> list[pd.DataFrame]:
    names = list(anns)
    if len(names) < 2:
        return []
    if luts is None:
        luts = pair_luts(anns)
    rows = []
    for a in names:
        rest = {b: anns[b] for b in names if b != a}
        cons = consensus(rest, cats, min_share=min_share, void=void, image=image, matches=luts,
                         labels=labels)
        ov = segment_overlap(cons.annotation, anns[a])
        frame = pq_counts(ov, match_segments(ov)).to_frame()
        frame.insert(0, "others", len(rest))
        frame.insert(0, "annotator", a)
        frame.insert(0, "image", image)
        rows.append(frame)
    return rows


def leave_one_out(study: Study, *, min_share: float = 0.5, void: VoidMode = "label",
                  n_jobs: int = 1, progress: bool = False, images: Iterable[str] | None = None
                  ) -> LeaveOneOut:
    """PQ of every annotator against the consensus of the other annotators (one pass).

    For each image with at least two annotators and each of them, the consensus of the others
    (:func:`consensus`) is the reference and the annotator the other side of
    :func:`agreement.metrics.pq.pq_counts`; counts are summed over images per annotator and PQ
    computed from the sums (:func:`agreement.metrics.pq.pq_result`). Consensus pixels left void
    (ties, weak majorities) are void in the reference and so ignored, as PQ ignores void.
    With two annotators on an image, each is scored against the other. The pairwise matching
    of an image is computed once and shared by its consensus maps. ``n_jobs`` worker processes
    give the same result as one.
    """
    from .analysis import analyse

    return analyse(study, parts=("loo",), options={"loo": {"min_share": min_share, "void": void}},
                   images=images, n_jobs=n_jobs, progress=progress).loo


def _loo_fold(parts: Iterable[list[pd.DataFrame]], study: Study) -> LeaveOneOut:
    """Concatenate the per-image rows of :func:`leave_one_out` and compute the tables."""
    rows = [f for part in parts for f in part]
    cols = ["image", "annotator", "others", "category_id", "tp", "fp", "fn", "iou_sum"]
    counts = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=cols)
    return _loo_tables(counts, study)


def _loo_tables(counts: pd.DataFrame, study: Study) -> LeaveOneOut:
    per_ann, per_class = [], []
    for a in study.annotators:
        mine = counts[counts["annotator"] == a]
        summed = mine.groupby("category_id", as_index=False)[["tp", "fp", "fn", "iou_sum"]].sum()
        res = pq_result(summed, study.categories, ref="consensus", other=a)
        g = res.groups
        per_ann.append({"annotator": a, "images": mine["image"].nunique(),
                        "pq": g.loc["All", "pq"], "sq": g.loc["All", "sq"],
                        "rq": g.loc["All", "rq"], "pq_things": g.loc["Things", "pq"],
                        "pq_stuff": g.loc["Stuff", "pq"]})
        pc = res.per_class[["category_id", "name", "tp", "fp", "fn", "pq", "sq", "rq"]]
        per_class.append(pc.rename(columns={"name": "category"}).assign(annotator=a))
    table = pd.DataFrame(per_ann, columns=["annotator", "images", "pq", "sq", "rq", "pq_things",
                                           "pq_stuff"])
    table = table.sort_values("pq", kind="stable").reset_index(drop=True)
    pcl = pd.concat(per_class, ignore_index=True)
    return LeaveOneOut(counts, table, pcl[["annotator", *pcl.columns[:-1]]])
