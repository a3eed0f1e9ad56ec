"""Human consistency: every annotator's segmentation scored against every other annotator's.

This is the protocol of the BSDS region benchmark's "Human" row (Arbelaez et al. 2011), applied to
any study. For each image with at least two annotators, each ordered pair (``ref``, ``other``) of
distinct annotators is compared through one contingency table (built once per unordered pair and
transposed for the other direction); ``other`` is the segmentation being scored, ``ref`` the
annotation it is scored against:

- **Covering** is pooled: the sums of ``|R| x best IoU`` and of ``|R|`` over the regions R of
  ``ref``, over all images, annotators and others, then divided.
- **PRI** and **VI**: per image, the mean over annotators (``other``) of the mean over the others
  (``ref``) of the Rand index / variation of information (bits); then the mean over images.
- **PQ** (class-agnostic: every region one thing class): TP, FP, FN and IoU sums pooled over all
  images and ordered pairs, then PQ = IoU sum / (TP + FP/2 + FN/2).

The maps used are the annotations' compact segment maps: for a panoptic study every segment is a
region and classes are ignored (see :func:`parsing_covering_by_class` for the per-class view).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import AnnotationError
from ..image.maps import ImageMaps
from ..metrics.counts import ratio
from ..metrics.covering import ParsingCovering, parsing_covering_table
from ..metrics.region import (
    RegionPQ,
    covering_sums,
    rand_index,
    region_pq,
    variation_of_information,
)
from ..model import Categories, PanopticAnnotation, Study
from ._rows import Columns, Rows
from .runner import Part, run

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "PAIR_COLUMNS",
    "ConsistencyPart",
    "ConsistencyResult",
    "CoveringPart",
    "consistency_from_pairs",
    "human_consistency",
    "image_pairs",
    "parsing_covering_by_class",
    "plot_per_image",
]

#: Columns of :attr:`ConsistencyResult.pairs`, one row per (image, ref, other).
PAIR_COLUMNS = ("image", "ref", "other", "rand_index", "vi", "covering_weighted",
                "covering_area", "tp", "fp", "fn", "iou_sum")


def image_pairs(image: str, annotations: Mapping[str, PanopticAnnotation]) -> pd.DataFrame:
    """Compare every ordered pair of one image's annotations (one table per unordered pair).

    Parameters
    ----------
    image : str
        The image's name (first column, and for messages).
    annotations : mapping of str to PanopticAnnotation
        Annotator -> annotation of this image; all the same size.

    Returns
    -------
    DataFrame
        Columns :data:`PAIR_COLUMNS`: ``rand_index`` and ``vi`` (bits) of the pair,
        ``covering_weighted`` and ``covering_area`` (the covering sums of ``ref`` by ``other``),
        ``tp``, ``fp``, ``fn``, ``iou_sum`` (class-agnostic PQ counts, ``ref`` as reference).

    Raises
    ------
    AnnotationError
        Two annotations of the image differ in size.

    Examples
    --------
    >>> from agreement.io.label_maps import annotation_from_labels
    >>> anns = {"a": annotation_from_labels(np.array([[1, 1, 2, 2]])),
    ...         "b": annotation_from_labels(np.array([[1, 1, 1, 2]]))}
    >>> image_pairs("img", anns)[["ref", "other", "rand_index", "covering_weighted", "tp"]]
      ref other  rand_index  covering_weighted  tp
    0   a     b         0.5           2.333333   1
    1   b     a         0.5           2.500000   1
    """
    maps = ImageMaps(image, annotations, categories=Categories([]))
    return pd.DataFrame(_pair_rows(maps), columns=list(PAIR_COLUMNS))


def _pair_rows(maps: ImageMaps) -> list[tuple]:
    """The rows of :func:`image_pairs` from the image's joint tables."""
    rows = []
    for a, b in maps.pairs():
        sa, sb = maps.annotations[a].shape, maps.annotations[b].shape
        if sa != sb:
            raise AnnotationError(f"annotations must have the same size, got {sa} for {a!r} and "
                                  f"{sb} for {b!r}", image=maps.image)
        pair = maps.pair(a, b)
        ri = rand_index(table=pair.table)
        vi = variation_of_information(table=pair.table)
        for ref, other in ((a, b), (b, a)):
            t = pair.table_for(ref)
            weighted, area = covering_sums(t)
            pq = region_pq(table=t)
            rows.append((maps.image, ref, other, ri, vi, weighted, area, pq.tp, pq.fp, pq.fn,
                         pq.iou_sum))
    return rows


@dataclass(frozen=True, eq=False)
class ConsistencyResult:
    """Human consistency of a study (see the module notes for how each figure is pooled).

    Attributes
    ----------
    n_images : int
        Images with at least two annotators (the others are in ``skipped``).
    covering, pri, vi : float
        Pooled covering; mean over images of the per-image PRI / VI (bits).
    pq, sq, rq : float
        Class-agnostic PQ from the pooled counts.
    tp, fp, fn : int
    iou_sum : float
    per_image : DataFrame
        One row per image: ``image``, ``n_annotators``, ``covering``, ``pri``, ``vi``, ``pq``,
        ``sq``, ``rq``, ``tp``, ``fp``, ``fn``, ``iou_sum``, ``covering_weighted``,
        ``covering_area`` (the image's own sums, so images can be resampled).
    pairs : DataFrame
        One row per (image, ref, other), columns :data:`PAIR_COLUMNS`.
    skipped : tuple of str
        Images with fewer than two annotators.

    Notes
    -----
    A pass asked not to build ``per_image`` or ``pairs`` (:class:`ConsistencyPart` options,
    what ``agreement consistency`` does for the outputs it is not asked to write) leaves that
    table empty (its columns, no row); the figures and :meth:`to_dict` are the same.
    """

    n_images: int
    covering: float
    pri: float
    vi: float
    pq: float
    sq: float
    rq: float
    tp: int
    fp: int
    fn: int
    iou_sum: float
    per_image: pd.DataFrame = field(repr=False)
    pairs: pd.DataFrame = field(repr=False)
    skipped: tuple[str, ...] = ()
    _n_pairs: int | None = field(default=None, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The per-image table (a copy)."""
        return self.per_image.copy()

    def least_consistent(self, n: int = 10, *, by: str = "covering") -> pd.DataFrame:
        """The ``n`` images on which annotators disagree most, by one per-image measure.

        ``by`` is a column of :attr:`per_image`; low values are worst except for ``vi``.
        """
        if by not in self.per_image.columns:
            raise ValueError(f"by must be a per-image column {list(self.per_image.columns)}, "
                             f"got {by!r}")
        return self.per_image.sort_values(by, ascending=by != "vi").head(n).reset_index(drop=True)

    def _repr_html_(self) -> str:
        from .._html import block, figures, table

        return block(f"Human consistency: {self.n_images} images", [
            figures({"covering": self.covering, "PRI": self.pri, "VI (bits)": self.vi,
                     "PQ": self.pq, "SQ": self.sq, "RQ": self.rq}),
            table(self.least_consistent(5)[["image", "n_annotators", "covering", "pri", "vi",
                                            "pq"]], caption="Least consistent images")])

    def to_dict(self) -> dict:
        """The study-level figures, JSON-ready (NaN becomes None)."""
        n_pairs = len(self.pairs) if self._n_pairs is None else self._n_pairs
        out = {"n_images": self.n_images, "n_pairs": n_pairs}
        for key in ("covering", "pri", "vi", "pq", "sq", "rq"):
            value = float(getattr(self, key))
            out[key] = None if np.isnan(value) else value
        out.update(tp=self.tp, fp=self.fp, fn=self.fn, iou_sum=float(self.iou_sum),
                   skipped_images=list(self.skipped))
        return out


def _pq_columns(frame: pd.DataFrame) -> pd.DataFrame:
    counts = [RegionPQ(int(t), int(p), int(n), float(s))
              for t, p, n, s in zip(frame.tp, frame.fp, frame.fn, frame.iou_sum, strict=True)]
    return frame.assign(pq=[c.pq for c in counts], sq=[c.sq for c in counts],
                        rq=[c.rq for c in counts])


_SUMS = ["covering_weighted", "covering_area", "tp", "fp", "fn", "iou_sum"]
#: Columns of the per-image table, in order.
IMAGE_COLUMNS = ("image", "n_annotators", "covering", "pri", "vi", "pq", "sq", "rq", "tp", "fp",
                 "fn", "iou_sum", "covering_weighted", "covering_area")


def _image_sums(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per image (index ``image``, in order of appearance): ``n_annotators``, ``pri``, ``vi``
    and the image's sums of the pair rows.

    pandas picks how it adds a group's floats from the whole table (``reduceat`` when every
    group's rows are contiguous and no value is NaN, else Kahan's compensated sum), so an image's
    figures may differ in the last bit between a table and a piece of it: they are computed over
    the whole table (:func:`_coded_image_sums` gives the same groups in the same order)."""
    by_image = pairs.groupby("image", sort=False)
    sums = by_image[_SUMS].sum()
    per_other = pairs.groupby(["image", "other"], sort=False)[["rand_index", "vi"]].mean()
    means = per_other.groupby(level="image", sort=False).mean()
    n_ann = by_image["other"].nunique().rename("n_annotators")
    return pd.concat([n_ann, means.rename(columns={"rand_index": "pri"}), sums], axis=1)


def _from_images(images: pd.DataFrame, pairs: pd.DataFrame, *, n_pairs: int,
                 skipped: Iterable[str], per_image: bool = True) -> ConsistencyResult:
    """The result from the per-image sums of :func:`_image_sums` (``per_image``: with every
    column, index ``image``; else only the figures' columns, and an empty per-image table)."""
    table = _empty(IMAGE_COLUMNS)
    if per_image:
        table = _pq_columns(images.assign(covering=ratio(images.covering_weighted,
                                                         images.covering_area)))
        table = table.reset_index()[list(IMAGE_COLUMNS)]
    total = RegionPQ(int(images.tp.sum()), int(images.fp.sum()), int(images.fn.sum()),
                     float(images.iou_sum.sum()))
    area = float(images.covering_area.sum())
    n = len(images)
    return ConsistencyResult(
        n_images=n,
        covering=float(images.covering_weighted.sum()) / area if area else float("nan"),
        pri=float(images.pri.mean()) if n else float("nan"),
        vi=float(images.vi.mean()) if n else float("nan"),
        pq=total.pq, sq=total.sq, rq=total.rq, tp=total.tp, fp=total.fp, fn=total.fn,
        iou_sum=total.iou_sum, per_image=table, pairs=pairs, skipped=tuple(skipped),
        _n_pairs=n_pairs,
    )


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    """A table not kept: its columns (names objects, counts integers), no row."""
    ints = ("n_annotators", "covering_area", "tp", "fp", "fn")
    return pd.DataFrame({c: np.zeros(0, object if c in ("image", "ref", "other") else
                                     np.int64 if c in ints else np.float64) for c in columns})


def consistency_from_pairs(pairs: pd.DataFrame, *,
                           skipped: Iterable[str] = ()) -> ConsistencyResult:
    """Aggregate a pair table (:func:`image_pairs` rows of many images) into the study figures.

    NaN pair values (a pair with no pixel labelled by both) are left out of the means.
    """
    pairs = pairs.reset_index(drop=True)
    return _from_images(_image_sums(pairs), pairs, n_pairs=len(pairs), skipped=skipped)


def human_consistency(study: Study, *, images: Iterable[str] | None = None, n_jobs: int = 1,
                      progress: bool = False, executor: Any = None) -> ConsistencyResult:
    """Score every annotator against every other annotator, image by image (BSDS "Human" row).

    Parameters
    ----------
    study : Study
        Any study; class-agnostic (label maps, BSDS) or panoptic (segments used as regions).
    images : iterable of str, optional
        Restrict to these images (default: all).
    n_jobs : int
        Worker processes over images (1: this process; -1: one per CPU); the result is the same.
    progress : bool
        Show a progress bar.
    executor : concurrent.futures.Executor or distributed.Client, optional
        Run the images there (:mod:`agreement.study.runner`).

    Returns
    -------
    ConsistencyResult

    Examples
    --------
    >>> from agreement.io.label_maps import annotation_from_labels
    >>> from agreement.model import Categories, Category
    >>> cats = Categories([Category(1, "region", True)])
    >>> a = annotation_from_labels(np.array([[1, 1, 2, 2]]), file_name="img")
    >>> b = annotation_from_labels(np.array([[1, 1, 1, 2]]), file_name="img")
    >>> study = Study.from_annotations({"a": [a], "b": [b]}, cats)
    >>> r = human_consistency(study)
    >>> (r.n_images, round(r.covering, 4), r.pri, r.tp, r.fp, r.fn)
    (1, 0.6042, 0.5, 2, 2, 2)
    """
    part = ConsistencyPart(None if images is None else tuple(images))
    return run(study, [part], n_jobs=n_jobs, progress=progress, executor=executor)[0]


PAIR_DTYPES: dict[str, Any] = {"image": object, "ref": object, "other": object,
                               "rand_index": np.float64, "vi": np.float64,
                               "covering_weighted": np.float64, "covering_area": np.int64,
                               "tp": np.int64, "fp": np.int64, "fn": np.int64,
                               "iou_sum": np.float64}


@dataclass(frozen=True)
class ConsistencyPart(Part[Rows, ConsistencyResult]):
    """:func:`human_consistency` as a part of a pass (``images`` as there).

    ``per_image`` and ``pairs``: whether the result's :attr:`~ConsistencyResult.per_image` and
    :attr:`~ConsistencyResult.pairs` tables are built (one row per image, per ordered pair of an
    image's annotators); a table not asked for is empty (its columns, no row), and the study
    figures are the same. The pair rows are kept as compact columns while the pass runs
    (:class:`~agreement.study._rows.Columns`: names as codes, counts in their narrowest type)
    and the per-image figures are computed from the codes (the same groups, in the same order,
    as from the names: the same values bit for bit).
    """

    only: tuple[str, ...] | None = None
    per_image: bool = True
    pairs: bool = True

    name = "consistency"
    label = "consistency"

    def images(self, study: Study, images: Sequence[str] | None) -> list[str] | None:
        if self.only is None and all(len(study.annotators_of(i)) >= 2 for i in study.images):
            return None  # every image of the pass: no list (nor set) of names to hold
        todo = study.images if self.only is None else self.only
        return [i for i in todo if len(study.annotators_of(i)) >= 2]

    def kernel(self, maps: ImageMaps) -> Rows:
        rows = _pair_rows(maps)
        cols = list(zip(*rows, strict=True)) if rows else [()] * len(PAIR_COLUMNS)
        return Rows.of(len(rows), **{c: np.asarray(v) for c, v in zip(PAIR_COLUMNS, cols,
                                                                         strict=True)})

    def merge(self, a: Rows, b: Rows) -> Rows:
        return a + b

    def fold(self, total: Columns | None, chunk: Rows) -> Columns:
        """The rows kept compact (:class:`~agreement.study._rows.Columns`)."""
        total = Columns(PAIR_DTYPES) if total is None else total
        total.extend(chunk)
        return total

    def finish(self, total: Columns | None, study: Study) -> ConsistencyResult:
        todo = study.images if self.only is None else self.only
        skipped = [i for i in todo if len(study.annotators_of(i)) < 2]
        total = total or Columns(PAIR_DTYPES)
        images = _coded_image_sums(total)
        if self.per_image:  # the codes back to names
            images.index = pd.Index(total.values("image")[images.index.to_numpy()], name="image")
        pairs = total.frame() if self.pairs else _empty(PAIR_COLUMNS)
        return _from_images(images, pairs, n_pairs=len(total), skipped=skipped,
                            per_image=self.per_image)


def _coded_image_sums(total: Columns) -> pd.DataFrame:
    """:func:`_image_sums` of the rows in ``total``, index the images' codes, without the
    table of names: the integer sums and annotator counts added by code, the float means and sums
    by the same grouped operations on the same groups in the same order (the keys are the
    codes, numbered in order of appearance as the groups are, and an (image, other) pair is one
    integer), hence the same values bit for bit."""
    codes = total.codes
    image = codes["image"].astype(np.int64)
    n = len(total.values("image"))
    out = pd.DataFrame(index=pd.Index(np.arange(n), name="image"))
    ints = {}
    for name in ("covering_area", "tp", "fp", "fn"):
        ints[name] = np.zeros(n, np.int64)
        np.add.at(ints[name], image, codes[name])
    floats = pd.DataFrame({"image": image, "covering_weighted": codes["covering_weighted"],
                           "iou_sum": codes["iou_sum"]}, copy=False)
    sums = floats.groupby("image", sort=False)[["covering_weighted", "iou_sum"]].sum()
    del floats
    width = max(len(total.values("other")), 1)
    image *= width
    image += codes["other"]  # now the (image, other) pair, one integer
    means = pd.DataFrame({"pair": image, "rand_index": codes["rand_index"], "vi": codes["vi"]},
                         copy=False)
    del image
    per_other = means.groupby("pair", sort=False)[["rand_index", "vi"]].mean()
    del means
    per_other.index = pd.Index(per_other.index.to_numpy() // width, name="image")
    means = per_other.groupby(level="image", sort=False).mean()
    out["n_annotators"] = np.bincount(per_other.index.to_numpy(), minlength=n)
    out["pri"] = means.rand_index.to_numpy()
    out["vi"] = means.vi.to_numpy()
    out["covering_weighted"] = sums.covering_weighted.to_numpy()
    for name, column in ints.items():
        out[name] = column
    out["iou_sum"] = sums.iou_sum.to_numpy()
    return out


@dataclass(frozen=True)
class CoveringPart(Part[ParsingCovering, pd.DataFrame]):
    """:func:`parsing_covering_by_class` as a part of a pass."""

    normalize_by_image_size: bool = True

    name = "covering"
    label = "parsing covering"

    def kernel(self, maps: ImageMaps) -> ParsingCovering:
        """Parsing-covering sums of every ordered annotator pair of one image."""
        total = ParsingCovering((), (), ())
        for a, b in maps.pairs():
            ra, rb = maps.annotations[a], maps.annotations[b]
            table = maps.pair(a, b).table
            scale = 1.0 / table.sum() if self.normalize_by_image_size and table.sum() else 1.0
            total = total + parsing_covering_table(  # crowds are void, as in DeepLab
                table, ra.category_ids, rb.category_ids, scale=scale,
                ref_void=[s.iscrowd for s in ra.segments])
            total = total + parsing_covering_table(
                table.T, rb.category_ids, ra.category_ids, scale=scale,
                ref_void=[s.iscrowd for s in rb.segments])
        return total

    def merge(self, a: ParsingCovering, b: ParsingCovering) -> ParsingCovering:
        return a + b

    def finish(self, total: ParsingCovering | None, study: Study) -> pd.DataFrame:
        frame = (total or ParsingCovering((), (), ())).to_frame()
        cats = study.categories
        frame.insert(1, "category", [cats.name(int(c)) for c in frame.category_id])
        frame.insert(2, "isthing", [cats[int(c)].isthing if int(c) in cats else pd.NA
                                    for c in frame.category_id])
        return frame


def parsing_covering_by_class(study: Study, *, images: Iterable[str] | None = None,
                              normalize_by_image_size: bool = True, progress: bool = False,
                              n_jobs: int = 1, executor: Any = None) -> pd.DataFrame:
    """Parsing covering per class over all images and ordered annotator pairs of a study.

    Each ordered pair (``ref``, ``other``) adds its per-class sums (DeeperLab definition, see
    :mod:`agreement.metrics.covering`); a class's covering is its pooled weighted IoU over its
    pooled area. The parsing covering of the study is the mean of the ``covering`` column.

    Returns
    -------
    DataFrame
        One row per class some annotator used: ``category_id``, ``category``, ``isthing``,
        ``weighted_iou``, ``gt_area``, ``covering``.
    """
    images = None if images is None else list(images)
    return run(study, [CoveringPart(normalize_by_image_size)], images=images, n_jobs=n_jobs,
               progress=progress, executor=executor)[0]


def plot_per_image(result: ConsistencyResult, *, measure: str = "covering", label: int = 5,
                   ax: Axes | None = None) -> Figure:
    """Per-image distribution of one measure, images sorted from least to most consistent.

    Parameters
    ----------
    result : ConsistencyResult
    measure : str
        A per-image column: ``covering``, ``pri``, ``vi``, ``pq``, ``sq`` or ``rq``.
    label : int
        Name this many least consistent images on the plot.
    ax : matplotlib Axes, optional
        Draw here (default: a new figure).

    Returns
    -------
    Figure
        The figure holding the axes (never shown).
    """
    from matplotlib.figure import Figure

    worst = result.least_consistent(len(result.per_image), by=measure)
    if ax is None:  # a bare Figure: no pyplot state, nothing to close
        fig = Figure(figsize=(7, 3.2), layout="constrained")
        ax = fig.subplots()
    else:
        fig = ax.figure
    values = worst[measure].to_numpy(dtype=float)
    ax.plot(np.arange(1, values.size + 1), values, "o", ms=3, color="tab:blue")
    study_value = getattr(result, measure, None)
    if isinstance(study_value, float) and not np.isnan(study_value):
        ax.axhline(study_value, color="tab:gray", lw=1, ls="--",
                   label=f"study {measure} {study_value:.3f}")
        ax.legend(loc="lower right" if measure != "vi" else "upper right", frameon=False)
    # the worst images sit at the lower left (upper left for VI): list their names in the empty
    # corner above (below) the curve, one line each, with a leader to the point
    for rank, (image, value) in enumerate(zip(worst.image[:label], values[:label], strict=False)):
        y = 0.06 + 0.08 * rank if measure == "vi" else 0.94 - 0.08 * rank
        ax.annotate(str(image), (rank + 1, value), xytext=(0.18, y), textcoords="axes fraction",
                    fontsize=7, va="center",
                    arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "0.6"})
    ax.set_xlabel("image, least consistent first")
    ax.set_ylabel(measure + (" (bits)" if measure == "vi" else ""))
    ax.set_title(f"Human consistency per image ({result.n_images} images)")
    return fig
