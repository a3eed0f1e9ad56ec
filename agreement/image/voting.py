"""Votes of N annotators at every pixel of one image, and the consensus panoptic map they elect.

The consensus category of a pixel is the majority of the annotators' categories; a pixel whose
largest vote is tied, or held by no more than ``min_share`` of the annotators, is left void and
counted. Instances come from matched segments: segments of different annotators matched to each
other (same category, plain IoU > 0.5, :attr:`agreement.image.maps.PairTable.match_lut`) form one
*cluster*; all segments of a stuff category form one cluster. Among the annotators voting for the
consensus category at a pixel, the cluster with most votes gives the consensus segment (ties: the
first annotator's cluster, in study order). Consensus segments are never crowd.

Void (keyword ``void``): ``"label"`` counts leaving a pixel unlabelled as a vote for void;
``"exclude"`` ignores void votes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import combinations

import numpy as np
import numpy.typing as npt

from ..errors import AnnotationError
from ..metrics.counts import ratio
from ..metrics.pixel import VoidMode, _check_void, label_map
from ..model import Categories, PanopticAnnotation, Segment, VoteLayer
from ._graph import components
from .maps import ImageMaps
from .votes import agreement_counts, count_votes

__all__ = ["Consensus", "TupleConsensus", "consensus", "consensus_of", "consensus_tuples",
           "consensus_votes_of", "vote_layer"]


@dataclass(frozen=True, eq=False)
class Consensus:
    """The consensus of one image.

    Attributes
    ----------
    annotation : PanopticAnnotation
        The consensus map (segment ids 1..K, 0 = void), ready for
        :func:`agreement.write_coco_panoptic`. Its image info is the first voting annotator's
        (image id and ``tool_ref``, the tool's own name and frame of the image, kept), under
        the consensus's file name.
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
        from .._html import block, figures

        d = self.to_dict()
        support = self.support[self.support > 0]
        return block(f"Consensus of {d['image']}", [
            figures({k: v for k, v in d.items() if k != "image"}),
            figures({"mean support": float(support.mean()) if support.size else np.nan,
                     "annotators": ", ".join(self.annotators)})])


def clusters(anns: Sequence[PanopticAnnotation], categories: Categories,
             luts: Mapping[tuple[int, int], npt.NDArray[np.int64]]
             ) -> tuple[list[npt.NDArray[np.int64]], npt.NDArray[np.int64]]:
    """Per annotator a LUT compact id -> cluster (0 = void), and each cluster's category.

    ``luts[(i, j)]`` is the peer matching of annotations ``i < j``
    (:attr:`agreement.image.maps.PairTable.match_lut`).
    """
    offsets = np.cumsum([0] + [len(a.segments) for a in anns])
    total = int(offsets[-1])
    cats = np.concatenate([a.category_ids for a in anns]) if total else np.zeros(0, np.int64)
    rows, cols = [], []
    for i, j in combinations(range(len(anns)), 2):
        lut = luts[(i, j)]
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
    comp = components(total, r, c)[0] + 1  # numbered by their smallest node
    cluster_cat = np.zeros(int(comp.max(initial=0)) + 1, np.int64)
    cluster_cat[comp] = cats
    out = [np.concatenate([[0], comp[offsets[i]:offsets[i + 1]]]) for i in range(len(anns))]
    return out, cluster_cat


@dataclass(frozen=True, eq=False)
class TupleConsensus:
    """The consensus of some annotators of one image, per tuple of segments.

    Attributes
    ----------
    names : tuple of str
        The annotators voting.
    segment : ndarray of int64, shape (T,)
        The consensus segment (compact id, 0 = void) of each tuple of the image.
    categories : ndarray of int64, shape (K,)
        Category of consensus segment ``k + 1``.
    tie, weak : ndarray of bool, shape (T,)
        Tuples left void by a tie / a weak majority.
    support : ndarray of float32, shape (T,)
        Share of the voting annotators agreeing with the consensus category (0 where void).
    """

    names: tuple[str, ...]
    segment: npt.NDArray[np.int64]
    categories: npt.NDArray[np.int64]
    tie: npt.NDArray[np.bool_]
    weak: npt.NDArray[np.bool_]
    support: npt.NDArray[np.float32]

    def segments(self, count: npt.NDArray[np.int64]) -> tuple[Segment, ...]:
        """The consensus segment table (areas from the tuples' pixel counts, no boxes)."""
        areas = np.bincount(self.segment, weights=count, minlength=self.categories.size + 1)
        return tuple(Segment(k + 1, int(c), False, round(areas[k + 1]))
                     for k, c in enumerate(self.categories.tolist()))


def consensus_tuples(maps: ImageMaps, names: Sequence[str] | None = None, *,
                     min_share: float = 0.5, void: VoidMode = "label") -> TupleConsensus:
    """The consensus of some annotators of ``maps`` (default all) on every tuple of the image,
    sharing the image's labels, matching and tuples (see the module notes). Computed once per
    image for each (annotators, ``min_share``, ``void``): the leave-one-out scores and the
    findings of one pass share each annotator's consensus of the others."""
    _check_void(void)
    if not 0 <= min_share < 1:
        raise AnnotationError(f"min_share must be in [0, 1), got {min_share}")
    names = maps.names if names is None else tuple(n for n in maps.names if n in names)
    if not names:
        raise AnnotationError("consensus needs at least 1 annotation, got 0")
    return maps.cached(("consensus_tuples", names, float(min_share), void),
                       lambda: _consensus_tuples(maps, names, min_share, void))


def _consensus_tuples(maps: ImageMaps, names: tuple[str, ...], min_share: float,
                      void: VoidMode) -> TupleConsensus:
    pos = [maps.names.index(a) for a in names]
    t = maps.tuples()  # AnnotationError when the maps differ in size
    v = (maps.votes(void) if len(pos) == len(maps.names)
         else count_votes(maps.tuple_labels()[pos], void=void))
    cons = v.majority.copy()
    weak = ~v.tie & (cons > 0) & (v.votes <= min_share * v.n)
    cons[v.tie | weak] = 0
    anns = [maps.annotations[a] for a in names]
    luts = {(i, j): maps.pair(names[i], names[j]).match_lut
            for i, j in combinations(range(len(names)), 2)}
    seg_luts, cluster_cat = clusters(anns, maps.categories, luts)
    g = np.stack([lut[t.codes[:, p]] for lut, p in zip(seg_luts, pos, strict=True)])
    gvotes, _ = agreement_counts(g, (v.labels == cons) & (cons > 0))
    chosen = np.take_along_axis(g, gvotes.argmax(0)[None], 0)[0]
    chosen[cons == 0] = 0
    # clusters present, renumbered 1..K in id order (void stays 0)
    present = np.zeros(cluster_cat.size, bool)
    present[chosen] = True
    present[0] = False
    segment = np.cumsum(present, dtype=np.int64)[chosen]
    support = np.where(cons > 0, ratio(v.votes, v.n, dtype=np.float32), np.float32(0))
    return TupleConsensus(names, segment, cluster_cat[np.flatnonzero(present)],
                          v.tie, weak, support.astype(np.float32))


def consensus_of(maps: ImageMaps, names: Sequence[str] | None = None, *, min_share: float = 0.5,
                 void: VoidMode = "label", image: str | None = None) -> Consensus:
    """The consensus map of some annotators of ``maps`` (default all): :func:`consensus_tuples`
    read back per pixel."""
    return _consensus_map(maps, consensus_tuples(maps, names, min_share=min_share, void=void),
                          image)


def consensus_votes_of(maps: ImageMaps, names: Sequence[str] | None = None, *,
                       min_share: float = 0.5, void: VoidMode = "label",
                       image: str | None = None) -> tuple[Consensus, VoteLayer]:
    """The consensus map of some annotators of ``maps`` (default all) and its vote layer, both
    from one :func:`consensus_tuples`: the layer is counted per tuple and read back per pixel
    (equal, pixel for pixel, to :func:`vote_layer` of the same annotations; 1 to 255
    annotators)."""
    tc = consensus_tuples(maps, names, min_share=min_share, void=void)
    if len(tc.names) > 255:
        raise AnnotationError(f"a vote layer needs 1 to 255 annotators, got {len(tc.names)}",
                              image=maps.image)
    t = maps.tuples()
    labels = maps.tuple_labels()[[maps.names.index(a) for a in tc.names]]
    label_of = {c: k + 1 for k, c in enumerate(maps.category_ids)}
    seg_label = np.array([0, *(label_of[int(c)] for c in tc.categories)], np.int64)
    cons = seg_label[tc.segment]  # each tuple's consensus label (0: void)
    agree = labels == cons[None]
    if void == "exclude":
        agree &= labels > 0
        voters = (labels > 0).sum(0, dtype=np.uint8)
    else:
        voters = np.full(len(t), len(tc.names), np.uint8)
    layer = VoteLayer(t.gather(agree.sum(0, dtype=np.uint8)), t.gather(voters),
                      t.gather(tc.tie | tc.weak))
    return _consensus_map(maps, tc, image), layer


def _consensus_map(maps: ImageMaps, tc: TupleConsensus, image: str | None) -> Consensus:
    t = maps.tuples()
    seg_map = tc.segment.astype(np.int32)[t.index]
    areas = np.bincount(tc.segment, weights=t.count, minlength=tc.categories.size + 1)
    from scipy import ndimage  # here: the report reads consensus tuples, never this map

    boxes = ndimage.find_objects(seg_map, max_label=tc.categories.size)
    segments = tuple(
        Segment(k + 1, int(cat), False, round(areas[k + 1]),
                (sl[1].start, sl[0].start, sl[1].stop - sl[1].start, sl[0].stop - sl[0].start))
        for k, (cat, sl) in enumerate(zip(tc.categories.tolist(), boxes, strict=True)))
    first = maps.annotations[tc.names[0]].image
    info = replace(first, file_name=image or first.file_name)  # tool_ref kept: the tool's name
    return Consensus(PanopticAnnotation(info, seg_map, segments), tc.names,
                     int(t.count[tc.tie].sum()), int(t.count[tc.weak].sum()),
                     tc.support[t.index])


def consensus(annotations: Mapping[str, PanopticAnnotation], categories: Categories, *,
              min_share: float = 0.5, void: VoidMode = "label",
              image: str | None = None) -> Consensus:
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
    anns = list(annotations.values())
    name = image or (anns[0].image.file_name if anns else "?")
    maps = ImageMaps(name, annotations, categories=categories)
    return consensus_of(maps, min_share=min_share, void=void, image=image)


def vote_layer(annotations: Mapping[str, PanopticAnnotation], consensus: PanopticAnnotation,
               categories: Categories, *, void: VoidMode = "label") -> VoteLayer:
    """The vote layer of a pixel-majority consensus map.

    Parameters
    ----------
    annotations : mapping of str to PanopticAnnotation
        The annotators' maps the consensus was made from (1 to 255 of them).
    consensus : PanopticAnnotation
        The consensus map.
    categories : Categories
    void : {"label", "exclude"}
        As given to :func:`agreement.consensus`: void is a vote of its own, or only
        annotators who label a pixel vote.

    Returns
    -------
    VoteLayer

    Notes
    -----
    With ``c`` the largest number of annotators sharing one category at a pixel and ``v`` the
    number who left it void, a void consensus pixel has no majority when ``c > 0`` and
    (``void="exclude"`` or ``c >= v``): a category led, or tied with void, without winning.
    Its count equals the consensus's ``tie_pixels + weak_pixels``.

    Examples
    --------
    >>> from agreement.model import Category
    >>> from agreement import consensus
    >>> cats = Categories([Category(1, "road", False), Category(2, "walk", False)])
    >>> a = PanopticAnnotation.from_map([[1, 1, 2, 0]], {1: 1, 2: 2})
    >>> b = PanopticAnnotation.from_map([[1, 2, 1, 0]], {1: 1, 2: 2})
    >>> anns = {"a": a, "b": b}
    >>> layer = vote_layer(anns, consensus(anns, cats).annotation, cats)
    >>> layer.agree.tolist(), layer.no_majority.astype(int).tolist()
    ([[2, 0, 0, 2]], [[0, 1, 1, 0]])
    """
    _check_void(void)
    if not 1 <= len(annotations) <= 255:
        raise AnnotationError(f"a vote layer needs 1 to 255 annotators, got {len(annotations)}")
    shapes = {a.shape for a in annotations.values()} | {consensus.shape}
    if len(shapes) != 1:
        raise AnnotationError(f"annotations and consensus must have one shape, got "
                              f"{sorted(shapes)}", image=consensus.image.file_name)
    ids = tuple(categories)
    labels = [label_map(a, ids) for a in annotations.values()]
    cons = label_map(consensus, ids)
    agree = np.zeros(cons.shape, np.uint8)
    labelled = np.zeros(cons.shape, np.uint8)
    best = np.zeros(cons.shape, np.uint8)  # most annotators sharing one category
    for lab in labels:
        agree += (lab == cons) & ((lab > 0) | (void == "label"))
        labelled += lab > 0
        same = np.zeros(cons.shape, np.uint8)
        for other in labels:
            same += lab == other
        np.maximum(best, np.where(lab > 0, same, 0).astype(np.uint8), out=best)
    n = len(labels)
    if void == "label":
        voters = np.full(cons.shape, n, np.uint8)
        no_majority = (cons == 0) & (best > 0) & (best >= n - labelled)
    else:
        voters = labelled
        no_majority = (cons == 0) & (best > 0)
    return VoteLayer(agree, voters, no_majority)
