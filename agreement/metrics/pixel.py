"""Pixel-level agreement: confusion matrices, Cohen's and Fleiss' kappa, Krippendorff's alpha.

Every pixel is a *unit* rated by the annotators who annotated its image; the *value* is the
category of the segment covering it. Everything here is computed from additive tables per image,
:class:`PixelCounts`: label x label confusion counts per unordered annotator pair, and summed
over pairs per *stratum* (how many annotators give the pixel a value), from one ``bincount``
per pair over paired label maps. Tables of several images add up; the metrics are pure
functions of the summed tables, so a study is processed image by image in bounded memory.

Void handling (keyword ``void``):

``"exclude"`` (default)
    Void is *no value*: a pixel voided by an annotator is missing for that annotator, exactly
    like an image the annotator did not annotate. Cohen's kappa of a pair uses the pixels both
    labelled; Fleiss' kappa and Krippendorff's alpha use every pixel with at least two values.
``"label"``
    Void is a category like any other (named ``"void"``, category id 0): leaving a region
    unlabelled disagrees with labelling it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from ..errors import AnnotationError
from ..model import Categories, PanopticAnnotation
from .counts import class_alpha, coincidence_matrix, ratio

if TYPE_CHECKING:  # pandas is imported where a table is built
    import pandas as pd

__all__ = [
    "PixelAgreement",
    "PixelCounts",
    "VoidMode",
    "agreement_from_counts",
    "alpha_from_coincidence",
    "kappa_from_confusion",
    "label_lut",
    "label_map",
    "pixel_counts",
]

VoidMode = Literal["exclude", "label"]


def _check_void(void: str) -> None:
    if void not in ("exclude", "label"):
        raise AnnotationError(f"void must be 'exclude' or 'label', got {void!r}")


def label_lut(ann: PanopticAnnotation, category_ids: Sequence[int]) -> npt.NDArray[np.int32]:
    """Label of each compact id of an annotation (0 = void): ``i + 1`` for ``category_ids[i]``.

    Raises
    ------
    AnnotationError
        A segment's category is not in ``category_ids``.

    Examples
    --------
    >>> ann = PanopticAnnotation.from_map([[0, 5], [9, 9]], {5: 7, 9: 3})
    >>> label_lut(ann, [3, 7]).tolist()
    [0, 2, 1]
    """
    cats = np.asarray(category_ids, dtype=np.int64)
    seg_cats = ann.category_ids
    pos = np.searchsorted(cats, seg_cats)
    pos = np.minimum(pos, max(cats.size - 1, 0))
    bad = np.flatnonzero(cats[pos] != seg_cats) if cats.size else np.arange(seg_cats.size)
    if bad.size:
        seg = ann.segments[int(bad[0])]
        raise AnnotationError(
            f"category must be one of the study's categories {cats.tolist()}, "
            f"got {seg.category_id}",
            image=ann.image.file_name, segment=seg.id)
    return np.concatenate([[0], pos + 1]).astype(np.int32)


def label_map(ann: PanopticAnnotation, category_ids: Sequence[int]) -> npt.NDArray[np.int32]:
    """Category map of an annotation: ``i + 1`` where the pixel's category is ``category_ids[i]``.

    Parameters
    ----------
    ann : PanopticAnnotation
    category_ids : sequence of int, sorted
        The label space (usually the study's category ids); 0 in the result is void.

    Returns
    -------
    ndarray of int32, shape (H, W)
        Label per pixel from a lookup table over the annotation's compact ids
        (:func:`label_lut`).

    Raises
    ------
    AnnotationError
        A segment's category is not in ``category_ids``.

    Examples
    --------
    >>> ann = PanopticAnnotation.from_map([[0, 5], [9, 9]], {5: 7, 9: 3})
    >>> label_map(ann, [3, 7]).tolist()
    [[0, 2], [1, 1]]
    """
    return label_lut(ann, category_ids)[ann.compact]


@dataclass(frozen=True)
class PixelCounts:
    """Additive pixel statistics of one image or a sum of images.

    Attributes
    ----------
    annotators : tuple of str
        All annotators of the study (pairs index into this).
    category_ids : tuple of int
        The label space: label ``i + 1`` is ``category_ids[i]``; label 0 is void.
    void : {"exclude", "label"}
    pair_tables : ndarray of int64, shape (P, K, K)
        ``pair_tables[p, i, j]``: pixels where annotator ``a`` of pair ``p`` says label ``i``
        and ``b`` says ``j``. Pairs ``p`` are ``itertools.combinations(range(A), 2)``;
        ``K = len(category_ids) + 1``.
    stratum_tables : ndarray of int64, shape (A + 1, K, K)
        ``stratum_tables[s, i, j]``: the same counts summed over all pairs, on the pixels that
        ``s`` annotators give a value (what Fleiss' kappa and alpha need).
    strata : ndarray of int64, shape (A + 1,)
        Pixels per stratum ``s`` (images with at least two annotators).
    images : int
        Images summed.
    """

    annotators: tuple[str, ...]
    category_ids: tuple[int, ...]
    void: VoidMode
    pair_tables: npt.NDArray[np.int64]
    stratum_tables: npt.NDArray[np.int64]
    strata: npt.NDArray[np.int64]
    images: int = 1

    @property
    def pairs(self) -> list[tuple[int, int]]:
        """Annotator index pairs, in the order of ``pair_tables``."""
        return list(combinations(range(len(self.annotators)), 2))

    def __add__(self, other: PixelCounts) -> PixelCounts:
        if (other.annotators, other.category_ids, other.void) != (
                self.annotators, self.category_ids, self.void):
            raise AnnotationError("pixel counts must share annotators, categories and void mode "
                                  "to be added, got different ones")
        return PixelCounts(self.annotators, self.category_ids, self.void,
                           self.pair_tables + other.pair_tables,
                           self.stratum_tables + other.stratum_tables,
                           self.strata + other.strata, self.images + other.images)

    @classmethod
    def zeros(cls, annotators: Sequence[str], category_ids: Sequence[int], *,
              void: VoidMode = "exclude") -> PixelCounts:
        """An empty table to start a sum."""
        _check_void(void)
        a, k = len(annotators), len(category_ids) + 1
        return cls(tuple(annotators), tuple(int(c) for c in category_ids), void,
                   np.zeros((a * (a - 1) // 2, k, k), np.int64),
                   np.zeros((a + 1, k, k), np.int64), np.zeros(a + 1, np.int64), 0)


def pixel_counts(labels: Mapping[str, npt.NDArray[np.integer]], *, annotators: Sequence[str],
                 category_ids: Sequence[int], void: VoidMode = "exclude",
                 weights: npt.ArrayLike | None = None) -> PixelCounts:
    """Count one image: per annotator pair and stratum, a label confusion table.

    Parameters
    ----------
    labels : mapping of str to ndarray of int, shape (H, W)
        Label maps (see :func:`label_map`) of the annotators who annotated the image.
    annotators : sequence of str
        Every annotator of the study; those absent from ``labels`` are missing on this image.
    category_ids : sequence of int
        The label space of the maps.
    void : {"exclude", "label"}
        See the module notes.
    weights : array_like of int, optional
        Pixels each position stands for (same shape as the maps). With the labels of the
        distinct segment tuples of an image (:mod:`agreement.image.tuples`) and their pixel
        counts, the counts of the whole image come from a few thousand positions.

    Returns
    -------
    PixelCounts

    Examples
    --------
    >>> a = np.array([[1, 1, 2, 0]]); b = np.array([[1, 2, 2, 2]])
    >>> c = pixel_counts({"a": a, "b": b}, annotators=["a", "b"], category_ids=[7, 8])
    >>> c.strata.tolist(), c.pair_tables[0].tolist(), c.stratum_tables[2].tolist()
    ([0, 1, 3], [[0, 0, 1], [0, 1, 1], [0, 0, 1]], [[0, 0, 0], [0, 1, 1], [0, 0, 1]])
    """
    out = PixelCounts.zeros(annotators, category_ids, void=void)
    present = [i for i, a in enumerate(out.annotators) if a in labels]
    if len(present) < 2:
        return PixelCounts(out.annotators, out.category_ids, void, out.pair_tables,
                           out.stratum_tables, out.strata, 1)
    k, s_max = len(out.category_ids) + 1, len(out.annotators) + 1
    maps = [np.asarray(labels[out.annotators[i]]) for i in present]
    shapes = {m.shape for m in maps}
    if len(shapes) != 1:
        raise AnnotationError(f"label maps of one image must have one shape, got {sorted(shapes)}")
    maps = [m.ravel() for m in maps]
    w = None if weights is None else np.asarray(weights, dtype=np.float64).ravel()

    def count(codes: npt.NDArray[np.int64], n: int) -> npt.NDArray[np.int64]:
        if w is None:
            return np.bincount(codes, minlength=n).astype(np.int64)
        return np.rint(np.bincount(codes, weights=w, minlength=n)).astype(np.int64)

    total = maps[0].size if w is None else round(w.sum())
    if void == "exclude":
        stratum = np.zeros(maps[0].shape, np.int64)
        for m in maps:
            stratum += m != 0
        strata = count(stratum, s_max)
        base = stratum * (k * k)
    else:
        strata = np.zeros(s_max, np.int64)
        strata[len(present)] = total
        base = np.int64(len(present) * k * k)
    scaled = [m.astype(np.int64) * k for m in maps]
    pair_tables, stratum_tables = out.pair_tables, out.stratum_tables
    index = {p: n for n, p in enumerate(out.pairs)}
    for x, y in combinations(range(len(present)), 2):
        counts = count(base + scaled[x] + maps[y], s_max * k * k).reshape(s_max, k, k)
        pair_tables[index[(present[x], present[y])]] = counts.sum(0)
        stratum_tables += counts
    return PixelCounts(out.annotators, out.category_ids, void, pair_tables, stratum_tables,
                       strata, 1)


def _valid(void: str, k: int) -> slice:
    return slice(1, k) if void == "exclude" else slice(0, k)


def _binary(table: npt.NDArray, c: int) -> npt.NDArray:
    """Collapse the last two axes (labels) into ``[c, not c]`` x ``[c, not c]``."""
    tc = table[..., c, c]
    row = table[..., c, :].sum(-1)
    col = table[..., :, c].sum(-1)
    tot = table.sum((-2, -1))
    top = np.stack([tc, row - tc], -1)
    return np.stack([top, np.stack([col - tc, tot - row - col + tc], -1)], -2)


def kappa_from_confusion(table: npt.ArrayLike) -> float:
    """Cohen's kappa of a ``K x K`` confusion table of two raters.

    ``kappa = (p_o - p_e) / (1 - p_e)`` with ``p_o`` the share on the diagonal and ``p_e`` the
    chance agreement from the marginals. NaN when undefined (no pixels, or both raters use one
    and the same category only).

    Examples
    --------
    >>> round(kappa_from_confusion([[20, 5], [10, 15]]), 6)
    0.4
    """
    t = np.asarray(table, dtype=np.int64)
    n = int(t.sum())
    row, col = t.sum(1), t.sum(0)
    if n == 0 or (np.count_nonzero(row) == 1 and np.array_equal(row, col)):
        return float("nan")
    po = np.trace(t) / n
    pe = float(np.sum((row / n) * (col / n)))
    return float((po - pe) / (1.0 - pe))


def alpha_from_coincidence(o: npt.ArrayLike) -> float:
    """Krippendorff's alpha (nominal) from a coincidence matrix.

    ``alpha = 1 - (n - 1) * sum_{c != k} o_ck / sum_{c != k} n_c n_k`` where ``n_c`` are the
    marginals and ``n`` their sum. NaN when fewer than two values occur (no expected
    disagreement).

    Examples
    --------
    >>> round(alpha_from_coincidence([[4.0, 1.0], [1.0, 4.0]]), 6)
    0.64
    """
    o = np.asarray(o, dtype=np.float64)
    nc = o.sum(1)
    if np.count_nonzero(nc) < 2:
        return float("nan")
    n = nc.sum()
    observed = o.sum() - np.trace(o)
    expected = nc.sum() ** 2 - np.sum(nc * nc)
    return float(1.0 - (n - 1.0) * observed / expected)


def _fleiss(agree: float, items: int, p: npt.NDArray[np.float64]) -> float:
    """Fleiss' kappa from the summed per-unit agreement, the unit count and category shares."""
    pe = float(np.sum(p * p))
    if items == 0 or np.count_nonzero(p) < 2:
        return float("nan")
    return float((agree / items - pe) / (1.0 - pe))


def _names(category_ids: Sequence[int], categories: Categories | None) -> list[str]:
    if categories is None:
        return [str(c) for c in category_ids]
    return [categories.name(c) for c in category_ids]


@dataclass(frozen=True)
class PixelAgreement:
    """Pixel-level agreement of a study (or one image), computed from :class:`PixelCounts`.

    Attributes
    ----------
    counts : PixelCounts
        The summed table everything below derives from.
    fleiss_kappa, alpha : float
        Fleiss' kappa (generalised to a varying number of raters per pixel: per-pixel agreement
        ``P_i = sum_j n_ij (n_ij - 1) / (n_i (n_i - 1))`` averaged over pixels with ``n_i >= 2``,
        category shares pooled over those pixels) and Krippendorff's alpha (nominal), across all
        annotators. NaN when undefined.
    pixels : int
        Pixels with at least two values (the units of Fleiss' kappa and alpha).
    pairs : DataFrame
        One row per annotator pair: ``a``, ``b``, ``pixels`` (both gave a value), ``agreement``
        (share of those on which they agree), ``kappa`` (Cohen's).
    per_class : DataFrame
        One row per category (``category_id`` 0 = void in ``void="label"`` mode): ``category``,
        ``values`` (annotator-pixel values of the class on pixels with two or more values),
        ``share``, ``fleiss_kappa`` and ``alpha`` of the class against the rest.
    pair_class : DataFrame
        ``a``, ``b``, ``category_id``, ``category``, ``kappa``: Cohen's kappa of the class
        against the rest, per pair.
    """

    counts: PixelCounts
    fleiss_kappa: float
    alpha: float
    pixels: int
    pairs: pd.DataFrame
    per_class: pd.DataFrame
    pair_class: pd.DataFrame

    def confusion(self, a: str | None = None, b: str | None = None, *,
                  categories: Categories | None = None) -> pd.DataFrame:
        """Label confusion counts, void included as row/column ``"void"``.

        With ``a`` and ``b``: rows are ``a``'s labels, columns ``b``'s. Without: pooled over
        all ordered pairs (so the matrix is symmetric and each pixel of a pair counts twice).
        """
        import pandas as pd

        t = self.counts.pair_tables
        if a is None and b is None:
            table = (t + t.swapaxes(1, 2)).sum(0)
        else:
            names = self.counts.annotators
            if a not in names or b not in names or a == b:
                raise AnnotationError(f"a and b must be two different annotators of {list(names)}, "
                                      f"got {a!r} and {b!r}")
            i, j = names.index(a), names.index(b)
            table = t[self.counts.pairs.index((min(i, j), max(i, j)))]
            table = table if i < j else table.T
        labels = ["void", *_names(self.counts.category_ids, categories)]
        return pd.DataFrame(table, index=pd.Index(labels, name=a or "label"),
                            columns=pd.Index(labels, name=b or "label"))

    def kappa_matrix(self) -> pd.DataFrame:
        """Annotator x annotator Cohen's kappa (symmetric, NaN on the diagonal)."""
        import pandas as pd

        names = list(self.counts.annotators)
        m = pd.DataFrame(np.nan, index=pd.Index(names, name="a"), columns=pd.Index(names, name="b"))
        for row in self.pairs.itertuples():
            m.loc[row.a, row.b] = m.loc[row.b, row.a] = row.kappa
        return m

    def to_frame(self) -> pd.DataFrame:
        """The per-class table with an ``all`` row first (category_id <NA>)."""
        import pandas as pd

        head = pd.DataFrame({"category_id": [pd.NA], "category": ["all"], "values": [
            int(self.per_class["values"].sum())], "share": [1.0],
            "fleiss_kappa": [self.fleiss_kappa], "alpha": [self.alpha]})
        body = self.per_class.astype({"category_id": "Int64"})
        return pd.concat([head.astype({"category_id": "Int64"}), body], ignore_index=True)

    def __repr__(self) -> str:
        return (f"PixelAgreement({len(self.counts.annotators)} annotators, {self.pixels} pixels: "
                f"Fleiss kappa {self.fleiss_kappa:.4f}, alpha {self.alpha:.4f})")

    def _repr_html_(self) -> str:
        from .._html import block, figures, table

        return block("Pixel agreement", [
            figures({"Fleiss kappa": self.fleiss_kappa, "Krippendorff alpha": self.alpha,
                     "pixels": self.pixels}),
            table(self.to_frame(), caption="Per class (class against the rest)"),
            table(self.kappa_matrix(), index=True, caption="Cohen's kappa per annotator pair")])


def _multi_rater(tables: npt.NDArray[np.int64], strata: npt.NDArray[np.int64]
                 ) -> tuple[npt.NDArray[np.float64], float, int]:
    """Coincidence matrix, summed Fleiss per-pixel agreement and unit count.

    ``tables[s]``: label pair counts over all annotator pairs on the pixels of stratum ``s``.
    """
    s = np.arange(tables.shape[0], dtype=np.float64)
    o = coincidence_matrix(tables)
    pairs_w = np.where(s >= 2, ratio(2.0, s * (s - 1.0), undefined=0.0), 0.0)
    trace = np.trace(tables, axis1=-2, axis2=-1)
    return o, float(np.dot(trace, pairs_w)), int(strata[2:].sum())


def agreement_from_counts(counts: PixelCounts, *, categories: Categories | None = None
                          ) -> PixelAgreement:
    """Cohen's, Fleiss' kappa and Krippendorff's alpha, overall and per class, from counts.

    Parameters
    ----------
    counts : PixelCounts
        One image's or a sum of images' counts.
    categories : Categories, optional
        For category names.

    Returns
    -------
    PixelAgreement

    Examples
    --------
    >>> a = np.array([[1, 1, 2, 2]]); b = np.array([[1, 2, 2, 2]])
    >>> c = pixel_counts({"a": a, "b": b}, annotators=["a", "b"], category_ids=[7, 8])
    >>> r = agreement_from_counts(c)
    >>> r.pairs.kappa.round(6).tolist(), round(r.alpha, 6)
    ([0.5], 0.533333)
    """
    import pandas as pd

    k = len(counts.category_ids) + 1
    v = _valid(counts.void, k)
    t = counts.stratum_tables[:, v, v]
    o, agree, items = _multi_rater(t, counts.strata)
    ids = ([0] if counts.void == "label" else []) + list(counts.category_ids)
    names = (["void"] if counts.void == "label" else []) + _names(counts.category_ids, categories)
    share = o.sum(1) / o.sum() if o.sum() > 0 else np.full(len(ids), np.nan)
    rows, pair_rows = [], []
    pooled = counts.pair_tables[:, v, v]
    for c, (cid, name) in enumerate(zip(ids, names, strict=True)):
        tb = _binary(t, c)
        ob, agree_b, _ = _multi_rater(tb, counts.strata)
        pb = ob.sum(1) / ob.sum() if ob.sum() > 0 else np.zeros(2)
        rows.append({"category_id": cid, "category": name, "values": round(float(o[c].sum())),
                     "share": float(share[c]), "fleiss_kappa": _fleiss(agree_b, items, pb),
                     "alpha": float(class_alpha(o[c, c], o[c].sum(), o.sum()))})
        for (i, j), table in zip(counts.pairs, _binary(pooled, c), strict=True):
            pair_rows.append({"a": counts.annotators[i], "b": counts.annotators[j],
                              "category_id": cid, "category": name,
                              "kappa": kappa_from_confusion(table)})
    pairs = pd.DataFrame(
        [{"a": counts.annotators[i], "b": counts.annotators[j], "pixels": int(tab.sum()),
          "agreement": float(np.trace(tab) / tab.sum()) if tab.sum() else float("nan"),
          "kappa": kappa_from_confusion(tab)}
         for (i, j), tab in zip(counts.pairs, pooled, strict=True)],
        columns=["a", "b", "pixels", "agreement", "kappa"])
    p = o.sum(1) / o.sum() if o.sum() > 0 else np.zeros(len(ids))
    return PixelAgreement(counts, _fleiss(agree, items, p), alpha_from_coincidence(o), items, pairs,
                          pd.DataFrame(rows, columns=["category_id", "category", "values", "share",
                                                      "fleiss_kappa", "alpha"]),
                          pd.DataFrame(pair_rows, columns=["a", "b", "category_id", "category",
                                                           "kappa"]))
