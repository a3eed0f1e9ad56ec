"""Study-level passes: pixel agreement, disagreement heatmaps and regions, leave-one-out scores.

Each entry point decodes every image's maps once and keeps only small additive results per image
(pixel count tables, region rows, per-class counts, running sums of heatmaps per image size).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from .disagreement import Heatmaps, heatmaps
from .metrics.pixel import (
    PixelAgreement,
    PixelCounts,
    VoidMode,
    agreement_from_counts,
    label_map,
    pixel_counts,
)
from .model import PanopticAnnotation, Study
from .regions import (
    REGION_COLUMNS,
    ambiguous_regions,
    annotator_summary,
    class_pair_summary,
    pair_annotators,
)

__all__ = ["AggregateHeatmap", "StudyDisagreement", "disagreement", "pixel_agreement"]

MAPS = ("semantic", "entropy", "boundary", "instance")


def _pixel_part(image: str, anns: dict[str, PanopticAnnotation], *, annotators: tuple[str, ...],
                ids: tuple[int, ...], void: VoidMode,
                labels: dict[str, npt.NDArray[np.int32]] | None = None) -> PixelCounts:
    if labels is None:
        labels = {a: label_map(ann, ids) for a, ann in anns.items()}
    return pixel_counts(labels, annotators=annotators, category_ids=ids, void=void)


def pixel_agreement(study: Study, *, void: VoidMode = "exclude", n_jobs: int = 1,
                    progress: bool = False, images: Iterable[str] | None = None
                    ) -> PixelAgreement:
    """Cohen's kappa per pair, Fleiss' kappa and Krippendorff's alpha of a whole study.

    One pass over the images (``n_jobs`` worker processes; the same result as serial); each
    image adds one :class:`~agreement.metrics.pixel.PixelCounts` table, the metrics are computed
    from the sum. Annotators missing on an image are missing values there. See
    :mod:`agreement.metrics.pixel` for ``void``.

    Examples
    --------
    >>> from agreement.model import Categories, Category, PanopticAnnotation
    >>> cats = Categories([Category(1, "road", False), Category(2, "walk", False)])
    >>> a = PanopticAnnotation.from_map([[1, 1, 2, 2]], {1: 1, 2: 2}, file_name="x.png")
    >>> b = PanopticAnnotation.from_map([[1, 2, 2, 2]], {1: 1, 2: 2}, file_name="x.png")
    >>> study = Study.from_annotations({"a": [a], "b": [b]}, cats)
    >>> res = pixel_agreement(study)
    >>> res.pairs.kappa.tolist(), round(res.alpha, 4)
    ([0.5], 0.5333)
    """
    from .analysis import analyse

    return analyse(study, parts=("pixel",), options={"pixel": {"void": void}}, images=images,
                   n_jobs=n_jobs, progress=progress).pixel


def _pixel_total(parts: Iterable[PixelCounts], study: Study, *, void: VoidMode
                 ) -> PixelAgreement:
    """Sum the per-image tables of :func:`pixel_agreement` and compute the metrics."""
    total = PixelCounts.zeros(study.annotators, tuple(study.categories), void=void)
    for part in parts:
        total = total + part
    return agreement_from_counts(total, categories=study.categories)


@dataclass(frozen=True, eq=False)
class AggregateHeatmap:
    """Mean heatmaps over the images of one size (systematic trouble spots of a camera/layout).

    Attributes
    ----------
    shape : (H, W)
    images : int
        Images averaged.
    semantic, entropy, boundary, instance : ndarray of float32, shape (H, W)
        Mean of each image heatmap per pixel position.
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
        Every ambiguous region of every image (columns of
        :data:`agreement.regions.REGION_COLUMNS` plus ``rank``), most severe first.
    class_pairs : DataFrame
        Per class pair: ``regions``, ``pixels``, ``images``, ``annotators`` (distinct
        dissenters), ``dissenters``, ``top_dissenter``, ``severity``, ``kind`` (most frequent);
        most severe first.
    pair_annotators : DataFrame
        Per (class pair, dissenting annotator): ``regions``, ``pixels``, ``severity``.
    annotators : DataFrame
        Per annotator: regions / pixels / severity where it dissents, ``dissent_share``, plus
        its mean Cohen's kappa with the others (``mean_kappa``).
    per_class : DataFrame
        ``category_id`` (0 = void), ``category``, ``claimed_pixels`` (pixels some annotator
        gives the class), ``disputed_pixels`` (of those, not unanimous), ``ambiguity`` (ratio).
    per_image : DataFrame
        ``image``, ``annotators``, ``height``, ``width``, mean of each heatmap, ``disputed``
        (share of pixels not unanimous), ``regions``.
    pixel : PixelAgreement
        Pixel-level agreement from the same pass.
    aggregate : dict of (H, W) to AggregateHeatmap
    """

    regions: pd.DataFrame
    class_pairs: pd.DataFrame
    pair_annotators: pd.DataFrame
    annotators: pd.DataFrame
    per_class: pd.DataFrame
    per_image: pd.DataFrame
    pixel: PixelAgreement
    aggregate: dict[tuple[int, int], AggregateHeatmap] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The ranked regions."""
        return self.regions

    def __repr__(self) -> str:
        return (f"StudyDisagreement({len(self.per_image)} images, {len(self.regions)} regions, "
                f"{len(self.class_pairs)} class pairs, alpha {self.pixel.alpha:.4f})")

    def _repr_html_(self) -> str:
        from ._html import block, figures, table

        disputed = float(self.per_image["disputed"].mean()) if len(self.per_image) else np.nan
        return block("Study disagreement", [
            figures({"images": len(self.per_image), "regions": len(self.regions),
                     "mean disputed share": disputed, "Fleiss kappa": self.pixel.fleiss_kappa,
                     "Krippendorff alpha": self.pixel.alpha}),
            table(self.class_pairs, caption="Disputed class pairs, most severe first"),
            table(self.annotators, caption="Annotators"),
            table(self.per_class.sort_values("ambiguity", ascending=False),
                  caption="Classes, most ambiguous first")])


def _image_row(image: str, h: Heatmaps, n_regions: int) -> dict:
    row = {"image": image, "annotators": len(h.annotators), "height": h.shape[0],
           "width": h.shape[1]}
    row.update({f"{m}_mean": float(getattr(h, m).mean()) for m in MAPS})
    row.update({"disputed": float(np.mean(h.semantic > 0)), "regions": n_regions})
    return row


@dataclass(frozen=True, eq=False)
class _Part:
    """What one image contributes to :func:`disagreement` (small, picklable)."""

    counts: PixelCounts
    claimed: npt.NDArray[np.int64]
    disputed: npt.NDArray[np.int64]
    maps: tuple[npt.NDArray[np.float32], ...] | None
    regions: pd.DataFrame | None
    row: dict | None


def _disagreement_part(image: str, anns: dict[str, PanopticAnnotation], *, study_annotators:
                       tuple[str, ...], cats, d: int | None, void: VoidMode,
                       pixel_void: VoidMode, min_disagreement: float, min_area: int | None,
                       matches: dict[tuple[str, str], npt.NDArray[np.int64]] | None = None,
                       labels: dict[str, npt.NDArray[np.int32]] | None = None) -> _Part:
    ids = tuple(cats)
    k = len(ids) + 1
    if len(anns) < 2:
        empty = PixelCounts.zeros(study_annotators, ids, void=pixel_void)
        return _Part(empty, np.zeros(k, np.int64), np.zeros(k, np.int64), None, None, None)
    h = heatmaps(anns, cats, d=d, void=void, image=image, matches=matches, labels=labels)
    labels = dict(zip(h.annotators, h.labels, strict=True))
    counts = pixel_counts(labels, annotators=study_annotators, category_ids=ids,
                          void=pixel_void)
    claimed, disputed = h.class_counts()
    reg = ambiguous_regions(h, cats, min_disagreement=min_disagreement, min_area=min_area)
    return _Part(counts, claimed, disputed, tuple(getattr(h, m) for m in MAPS), reg,
                 _image_row(image, h, len(reg)))


def disagreement(study: Study, *, d: int | None = None, void: VoidMode = "label",
                 pixel_void: VoidMode = "exclude", min_disagreement: float = 0.0,
                 min_area: int | None = None, n_jobs: int = 1, progress: bool = False,
                 images: Iterable[str] | None = None) -> StudyDisagreement:
    """Heatmaps, ambiguous regions and pixel agreement of a study in one pass over the images.

    Parameters
    ----------
    study : Study
    d : int, optional
        Boundary tolerance in pixels (default per image, :func:`~agreement.disagreement.
        boundary_distance`).
    void : {"label", "exclude"}
        Void handling of the heatmaps and regions (default: leaving a pixel unlabelled is a
        vote, so gaps are found).
    pixel_void : {"exclude", "label"}
        Void handling of the kappas and alpha (default: void is a missing value).
    min_disagreement, min_area
        Passed to :func:`agreement.regions.ambiguous_regions`.
    n_jobs : int
        Worker processes (1: this process; -1: one per CPU); results are identical.
    progress : bool
        Show a progress bar.
    images : iterable of str, optional
        Restrict to these images.

    Returns
    -------
    StudyDisagreement
        Images with fewer than two annotators add nothing.
    """
    from .analysis import analyse

    opts = {"d": d, "void": void, "pixel_void": pixel_void, "min_disagreement": min_disagreement,
            "min_area": min_area}
    return analyse(study, parts=("disagreement",), options={"disagreement": opts}, images=images,
                   n_jobs=n_jobs, progress=progress).disagreement


def _fold(parts: Iterable[_Part], study: Study, *, pixel_void: VoidMode) -> StudyDisagreement:
    """Reduce the per-image parts of :func:`disagreement` (in image order)."""
    k = len(study.categories) + 1
    counts = PixelCounts.zeros(study.annotators, tuple(study.categories), void=pixel_void)
    claimed, disputed = np.zeros(k, np.int64), np.zeros(k, np.int64)
    sums: dict[tuple[int, int], list] = {}
    regions, rows = [], []
    for part in parts:
        counts = counts + part.counts
        claimed += part.claimed
        disputed += part.disputed
        if part.maps is None:
            continue
        shape = part.maps[0].shape
        acc = sums.setdefault(shape, [0] + [np.zeros(shape, np.float64) for _ in MAPS])
        acc[0] += 1
        for i, m in enumerate(part.maps, start=1):
            acc[i] += m
        regions.append(part.regions)
        rows.append(part.row)
    return _assemble(study, counts, claimed, disputed, sums, regions, rows)


def _assemble(study: Study, counts: PixelCounts, claimed, disputed, sums, regions, rows
              ) -> StudyDisagreement:
    cats = study.categories
    frames = [r for r in regions if not r.empty]
    reg = (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=REGION_COLUMNS))
    reg = reg.sort_values("severity", ascending=False, kind="stable").reset_index(drop=True)
    reg.insert(0, "rank", np.arange(1, len(reg) + 1))
    pixel = agreement_from_counts(counts, categories=cats)
    per_ann = annotator_summary(reg, study.annotators)
    kappa = pixel.kappa_matrix().mean(axis=1, skipna=True)
    per_ann["mean_kappa"] = per_ann["annotator"].map(kappa).astype(float)
    ids = [0, *cats]
    per_class = pd.DataFrame({
        "category_id": ids, "category": ["void", *(cats.name(c) for c in cats)],
        "claimed_pixels": claimed, "disputed_pixels": disputed,
        "ambiguity": np.divide(disputed, claimed, out=np.full(len(ids), np.nan),
                               where=claimed > 0)})
    aggregate = {shape: AggregateHeatmap(shape, acc[0], *(
        (a / acc[0]).astype(np.float32) for a in acc[1:])) for shape, acc in sums.items()}
    cols = ["image", "annotators", "height", "width", *(f"{m}_mean" for m in MAPS), "disputed",
            "regions"]
    return StudyDisagreement(reg, class_pair_summary(reg), pair_annotators(reg), per_ann, per_class,
                             pd.DataFrame(rows, columns=cols), pixel, aggregate)
