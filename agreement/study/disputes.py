"""Where and about what the annotators of a study disagree (:func:`disagreement`).

Per image the part computes the heatmaps (:func:`agreement.image.disagreement.heatmaps_of`), the
ambiguous regions (:func:`agreement.image.regions.ambiguous_regions`) and the pixel counts, and
keeps only what adds up:

- the pixel counts (kappas and alpha of the whole study);
- per label, the pixels claimed and disputed;
- the heatmaps as running sums on one fixed grid (:data:`GRID`, 256 x 512 cells): each image's
  maps are area-averaged onto the grid (:func:`agreement.image.disagreement.area_average`; other
  aspect ratios are stretched), so the aggregate is the mean over every image whatever its
  size;
- per pair of classes, the images in which each cell of a grid over the frame is disputed
  between the two (:mod:`agreement.study.pair_maps`: exact counts, for at most
  ``max_pair_maps`` pairs, the most disputed so far);
- the ``max_regions`` most severe regions (a bounded list), and the exact summaries of *every*
  region (:class:`agreement.study.region_tally.RegionTally`);
- one row per image.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..errors import StudyError
from ..image.disagreement import Heatmaps, heatmaps_of, pair_cells
from ..image.maps import ImageMaps
from ..image.regions import REGION_COLUMNS, region_records
from ..metrics.counts import ratio
from ..metrics.pixel import (
    PixelAgreement,
    PixelCounts,
    VoidMode,
    _check_void,
    agreement_from_counts,
)
from ..model import Study
from ._rows import Columns, Rows
from .pair_maps import MAX_PAIR_MAPS, PAIR_GRID, PairMaps, PairTally
from .region_tally import RegionTally
from .runner import Part, run

__all__ = ["GRID", "MAPS", "AggregateHeatmap", "DisputesPart", "StudyDisagreement",
           "disagreement"]

MAPS = ("semantic", "entropy", "boundary", "instance")
#: The grid (rows, columns) the aggregate heatmaps are summed on.
GRID = (256, 512)
IMAGE_COLUMNS = ["image", "annotators", "height", "width", *(f"{m}_mean" for m in MAPS),
                 "disputed", "regions"]
#: The types of the per-image rows and of the kept regions (as DataFrame infers them from the
#: records: the total keeps them as compact columns, :class:`~agreement.study._rows.Columns`).
IMAGE_DTYPES: dict[str, Any] = {"image": object, "annotators": np.int64, "height": np.int64,
                                "width": np.int64, **{f"{m}_mean": np.float64 for m in MAPS},
                                "disputed": np.float64, "regions": np.int64}
REGION_DTYPES: dict[str, Any] = {
    **dict.fromkeys(REGION_COLUMNS, object),
    **dict.fromkeys(["region", "category_a", "category_b", "area", "bbox_x", "bbox_y", "bbox_w",
                     "bbox_h"], np.int64),
    "mean_disagreement": np.float64, "severity": np.float64}


@dataclass(frozen=True, eq=False)
class AggregateHeatmap:
    """Mean heatmaps over the images of a study, on one grid (systematic trouble spots).

    Attributes
    ----------
    shape : (rows, columns)
        The grid (:data:`GRID`).
    images : int
        Images averaged.
    semantic, entropy, boundary, instance : ndarray of float32, shape ``shape``
        Mean over images of each heatmap area-averaged onto the grid.
    """

    shape: tuple[int, int]
    images: int
    semantic: npt.NDArray[np.float32]
    entropy: npt.NDArray[np.float32]
    boundary: npt.NDArray[np.float32]
    instance: npt.NDArray[np.float32]


@dataclass(frozen=True, eq=False)
class StudyDisagreement:
    """Where and about what the annotators of a study disagree.

    Attributes
    ----------
    regions : DataFrame
        The ``max_regions`` most severe ambiguous regions of the study (columns of
        :data:`agreement.image.regions.REGION_COLUMNS` plus ``rank``), most severe first.
    class_pairs : DataFrame
        Per class pair, over every region: ``class_pair``, ``category_a``, ``category_b`` (the
        ids of its two classes, 0 = void), ``regions``, ``pixels``, ``images``,
        ``annotators`` (distinct dissenters), ``dissenters``, ``top_dissenter``, ``severity``,
        ``kind`` (most frequent); most severe first.
    pair_annotators : DataFrame
        Per (class pair, dissenting annotator): ``regions``, ``pixels``, ``severity``.
    annotators : DataFrame
        Per annotator: regions / pixels / severity where it dissents, ``dissent_share``, plus
        its mean Cohen's kappa with the others (``mean_kappa``).
    per_class : DataFrame
        ``category_id`` (0 = void), ``category``, ``claimed_pixels`` (pixels some annotator
        gives the class), ``disputed_pixels`` (of those, not unanimous), ``ambiguity`` (ratio).
    per_image : DataFrame
        ``image``, ``annotators``, ``height``, ``width``, mean of each heatmap (in float64),
        ``disputed`` (share of pixels not unanimous), ``regions``.
    pixel : PixelAgreement
        Pixel-level agreement from the same pass.
    aggregate : AggregateHeatmap or None
        Mean heatmaps on one grid (None without an image of two annotators).
    class_kinds : DataFrame
        Per (``category_id``, ``kind``) of every region touching the category: ``regions``,
        ``pixels``, ``images``, ``severity``.
    pair_maps : PairMaps or None
        Per pair of classes, where in the frame it is disputed (:mod:`agreement.study.
        pair_maps`; None like ``aggregate``, or with ``max_pair_maps=0``).
    """

    regions: pd.DataFrame
    class_pairs: pd.DataFrame
    pair_annotators: pd.DataFrame
    annotators: pd.DataFrame
    per_class: pd.DataFrame
    per_image: pd.DataFrame
    pixel: PixelAgreement
    aggregate: AggregateHeatmap | None = None
    class_kinds: pd.DataFrame = field(default_factory=pd.DataFrame)
    pair_maps: PairMaps | None = None

    def to_frame(self) -> pd.DataFrame:
        """The ranked regions."""
        return self.regions

    def __repr__(self) -> str:
        return (f"StudyDisagreement({len(self.per_image)} images, {len(self.regions)} regions, "
                f"{len(self.class_pairs)} class pairs, alpha {self.pixel.alpha:.4f})")

    def _repr_html_(self) -> str:
        from .._html import block, figures, table

        disputed = float(self.per_image["disputed"].mean()) if len(self.per_image) else np.nan
        return block("Study disagreement", [
            figures({"images": len(self.per_image), "regions": len(self.regions),
                     "mean disputed share": disputed, "Fleiss kappa": self.pixel.fleiss_kappa,
                     "Krippendorff alpha": self.pixel.alpha}),
            table(self.class_pairs, caption="Disputed class pairs, most severe first"),
            table(self.annotators, caption="Annotators"),
            table(self.per_class.sort_values("ambiguity", ascending=False),
                  caption="Classes, most ambiguous first")])


@dataclass
class DisputePartial:
    """What images add to :func:`disagreement` (see the module notes).

    In a chunk's partial ``regions`` are records (most severe first) and ``rows`` the images'
    rows; in the total of a pass (:meth:`DisputesPart.fold`) both are compact
    :class:`~agreement.study._rows.Columns`.
    """

    counts: PixelCounts
    claimed: npt.NDArray[np.int64]
    disputed: npt.NDArray[np.int64]
    grid: npt.NDArray[np.float64] | None = None
    images: int = 0
    regions: list[dict] | Columns = field(default_factory=list)
    tally: RegionTally = field(default_factory=RegionTally)
    rows: Rows | Columns = field(default_factory=Rows)
    pairs: PairTally | None = None


@dataclass(frozen=True)
class DisputesPart(Part[DisputePartial, StudyDisagreement]):
    """:func:`disagreement` as a part of a pass (options as there)."""

    d: int | None = None
    void: VoidMode = "label"
    pixel_void: VoidMode = "exclude"
    min_disagreement: float = 0.0
    min_area: int | None = None
    max_regions: int = 5000
    maps: bool = True
    max_pair_maps: int = MAX_PAIR_MAPS

    name = "disagreement"
    label = "disagreement"

    def __post_init__(self) -> None:
        _check_void(self.void)
        _check_void(self.pixel_void)
        if self.max_regions < 0:
            raise StudyError(f"max_regions must be >= 0, got {self.max_regions}")
        if self.max_pair_maps < 0:
            raise StudyError(f"max_pair_maps must be >= 0, got {self.max_pair_maps}")

    def kernel(self, maps: ImageMaps) -> DisputePartial:
        k = len(maps.categories) + 1
        counts = maps.pixel_counts(self.pixel_void)
        if len(maps.annotations) < 2:
            return DisputePartial(counts, np.zeros(k, np.int64), np.zeros(k, np.int64))
        h = heatmaps_of(maps, d=self.d, void=self.void)
        claimed, disputed = h.class_counts()
        if self.maps:  # the boundary count first: the regions' wider tolerance widens its bits
            h.boundary_count  # noqa: B018
        reg = region_records(h, maps.categories, min_disagreement=self.min_disagreement,
                             min_area=self.min_area)
        grid = h.area_averages(MAPS, GRID) if self.maps else None
        pairs = (PairTally.of(pair_cells(h, PAIR_GRID, min_disagreement=self.min_disagreement))
                 if self.maps and self.max_pair_maps else None)
        row = _image_row(maps.image, h, len(reg), boundary=self.maps)
        return DisputePartial(counts, claimed, disputed, grid, 1, reg[:self.max_regions],
                              RegionTally.of(reg), Rows.of(1, **row), pairs)

    def merge(self, a: DisputePartial, b: DisputePartial) -> DisputePartial:
        grid = b.grid if a.grid is None else a.grid if b.grid is None else a.grid + b.grid
        return self._added(a, b, grid, _top(a.regions, b.regions, self.max_regions),
                           a.rows + b.rows)

    def fold(self, total: DisputePartial | None, chunk: DisputePartial) -> DisputePartial:
        """Add a chunk to the total, whose regions and rows are compact columns (the grid
        sums and the columns grow in place: the total is the runner's own)."""
        if total is None:
            grid = None if chunk.grid is None else chunk.grid.copy()
            total = dataclasses.replace(chunk, grid=grid, regions=Columns(REGION_DTYPES),
                                        rows=Columns(IMAGE_DTYPES))
        else:
            grid = chunk.grid if total.grid is None else total.grid
            if total.grid is not None and chunk.grid is not None:
                grid += chunk.grid
            total = self._added(total, chunk, grid, total.regions, total.rows)
        _keep_top(total.regions, chunk.regions, self.max_regions)
        total.rows.extend(chunk.rows)
        return total

    def _added(self, a: DisputePartial, b: DisputePartial, grid: np.ndarray | None,
               regions: list[dict] | Columns, rows: Rows | Columns) -> DisputePartial:
        """``a`` and ``b`` added up, with the grid, regions and rows given."""
        pairs = (b.pairs if a.pairs is None else a.pairs if b.pairs is None
                 else a.pairs.merged(b.pairs, self.max_pair_maps))
        return DisputePartial(a.counts + b.counts, a.claimed + b.claimed, a.disputed + b.disputed,
                              grid, a.images + b.images, regions, a.tally + b.tally, rows, pairs)

    def finish(self, total: DisputePartial | None, study: Study) -> StudyDisagreement:
        cats = study.categories
        zero = PixelCounts.zeros(study.annotators, tuple(cats), void=self.pixel_void)
        k = len(cats) + 1
        total = total or DisputePartial(zero, np.zeros(k, np.int64), np.zeros(k, np.int64))
        reg = _frame(total.regions, REGION_COLUMNS)
        reg.insert(0, "rank", np.arange(1, len(reg) + 1))
        pixel = agreement_from_counts(zero + total.counts, categories=cats)
        per_ann = total.tally.annotators(study.annotators)
        kappa = pixel.kappa_matrix().mean(axis=1, skipna=True)
        per_ann["mean_kappa"] = per_ann["annotator"].map(kappa).astype(float)
        ids = [0, *cats]
        per_class = pd.DataFrame({
            "category_id": ids, "category": ["void", *(cats.name(c) for c in cats)],
            "claimed_pixels": total.claimed, "disputed_pixels": total.disputed,
            "ambiguity": ratio(total.disputed, total.claimed)})
        aggregate = None if total.grid is None else AggregateHeatmap(
            GRID, total.images, *(m.astype(np.float32) for m in total.grid / total.images))
        pair_maps = None if total.grid is None or not self.max_pair_maps else (
            total.pairs or PairTally()).finish(cats, total.images, PAIR_GRID, self.max_pair_maps)
        return StudyDisagreement(reg, total.tally.class_pairs(), total.tally.pair_annotators(),
                                 per_ann, per_class, _frame(total.rows, IMAGE_COLUMNS),
                                 pixel, aggregate, total.tally.class_kinds(), pair_maps)


def _top(a: list[dict], b: list[dict], k: int) -> list[dict]:
    """The ``k`` most severe regions of ``a`` then ``b`` (ties: ``a`` first, then order)."""
    both = a + b
    both.sort(key=lambda r: -r["severity"])  # stable
    return both[:k]


def _keep_top(top: Columns, regions: list[dict], k: int) -> None:
    """Keep in ``top`` (sorted, most severe first) its ``k`` most severe rows and ``regions``
    (records sorted alike): as :func:`_top` (ties: ``top`` first, then order); a region no more
    severe than the ``k``-th kept is not even encoded."""
    if len(top) >= k > 0:
        floor = float(top.codes["severity"][k - 1])
        regions = [r for r in regions if r["severity"] > floor]
    if not regions or not k:
        return
    top.extend(Rows.of(len(regions), **{c: [r[c] for r in regions] for c in top.dtypes}))
    top.take(np.argsort(-top.codes["severity"], kind="stable")[:k])


def _frame(rows: list[dict] | Rows | Columns, columns: list[str]) -> pd.DataFrame:
    """The DataFrame of records or of compact columns (without a row, as DataFrame builds it
    from no record: object columns)."""
    if isinstance(rows, Columns) and len(rows):
        return rows.frame()
    if isinstance(rows, Rows) and len(rows):  # a chunk's partial finished directly
        return rows.frame(IMAGE_DTYPES)
    return pd.DataFrame(rows if isinstance(rows, list) else [], columns=columns)


def _image_row(image: str, h: Heatmaps, n_regions: int, *, boundary: bool) -> dict:
    """The image's row: mean of each heatmap (over the tuples, weighted by their pixels; the
    boundary map's only with ``boundary``, else NaN)."""
    count = h.tuples.count
    pixels = float(count.sum())
    row = {"image": image, "annotators": len(h.annotators), "height": h.shape[0],
           "width": h.shape[1]}
    for m in MAPS:
        if m == "boundary":
            row["boundary_mean"] = h.boundary_mean() if boundary else float("nan")
        else:
            row[f"{m}_mean"] = float(np.dot(count, h.per_tuple[m].astype(np.float64)) / pixels)
    row.update({"disputed": float(count[h.per_tuple["semantic"] > 0].sum() / pixels),
                "regions": n_regions})
    return row


def disagreement(study: Study, *, d: int | None = None, void: VoidMode = "label",
                 pixel_void: VoidMode = "exclude", min_disagreement: float = 0.0,
                 min_area: int | None = None, n_jobs: int = 1, progress: bool = False,
                 images: Iterable[str] | None = None, max_regions: int = 5000,
                 maps: bool = True, max_pair_maps: int = MAX_PAIR_MAPS,
                 executor: Any = None) -> StudyDisagreement:
    """Heatmaps, ambiguous regions and pixel agreement of a study in one pass over the images.

    Parameters
    ----------
    study : Study
    d : int, optional
        Boundary tolerance in pixels (default per image,
        :func:`~agreement.image.disagreement.boundary_distance`).
    void : {"label", "exclude"}
        Void handling of the heatmaps and regions (default: leaving a pixel unlabelled is a
        vote, so gaps are found).
    pixel_void : {"exclude", "label"}
        Void handling of the kappas and alpha (default: void is a missing value).
    min_disagreement, min_area
        Passed to :func:`agreement.image.regions.ambiguous_regions`.
    maps : bool
        Also read the heatmaps pixel by pixel: sum them on the grid
        (:attr:`StudyDisagreement.aggregate`) and average the boundary heatmap of each image
        (``boundary_mean``), and count where each pair of classes is disputed
        (:attr:`StudyDisagreement.pair_maps`); without, the aggregate and the pair maps are None
        and ``boundary_mean`` NaN.
    max_pair_maps : int
        Pairs of classes keeping a map of where they are disputed (the most disputed so far;
        :mod:`agreement.study.pair_maps`); 0: no pair maps.
    n_jobs : int
        Worker processes (1: this process; -1: one per CPU); results are identical.
    progress : bool
        Show a progress bar.
    images : iterable of str, optional
        Restrict to these images.
    max_regions : int
        Regions kept in :attr:`StudyDisagreement.regions`, most severe first (the summaries
        count every region).
    executor : concurrent.futures.Executor or distributed.Client, optional
        Run the images there (:mod:`agreement.study.runner`).

    Returns
    -------
    StudyDisagreement
        Images with fewer than two annotators add nothing but their pixel counts.
    """
    part = DisputesPart(d=d, void=void, pixel_void=pixel_void,
                        min_disagreement=min_disagreement, min_area=min_area,
                        max_regions=max_regions, maps=maps, max_pair_maps=max_pair_maps)
    images = None if images is None else list(images)
    return run(study, [part], images=images, n_jobs=n_jobs, progress=progress,
               executor=executor)[0]
