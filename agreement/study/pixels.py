"""Pixel agreement of a whole study: Cohen's, Fleiss' kappa and Krippendorff's alpha
(:func:`pixel_agreement`).

Each image adds one :class:`~agreement.metrics.pixel.PixelCounts` table (shared with the other
parts of the pass that read it); the metrics are computed once, from the sum.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import StudyError
from ..image.maps import ImageMaps
from ..metrics.pixel import PixelAgreement, PixelCounts, VoidMode, agreement_from_counts
from ..model import Study
from .runner import Part, run

__all__ = ["PixelPart", "pixel_agreement"]


def _check_void(void: str) -> None:
    if void not in ("exclude", "label"):
        raise StudyError(f"void must be 'exclude' or 'label', got {void!r}")


@dataclass(frozen=True)
class PixelPart(Part[PixelCounts, PixelAgreement]):
    """:func:`pixel_agreement` as a part of a pass (``void`` as there)."""

    void: VoidMode = "exclude"

    name = "pixel"
    label = "pixel agreement"

    def __post_init__(self) -> None:
        _check_void(self.void)

    def kernel(self, maps: ImageMaps) -> PixelCounts:
        return maps.pixel_counts(self.void)

    def merge(self, a: PixelCounts, b: PixelCounts) -> PixelCounts:
        return a + b

    def finish(self, total: PixelCounts | None, study: Study) -> PixelAgreement:
        zero = PixelCounts.zeros(study.annotators, tuple(study.categories), void=self.void)
        return agreement_from_counts(zero if total is None else zero + total,
                                     categories=study.categories)


def pixel_agreement(study: Study, *, void: VoidMode = "exclude", n_jobs: int = 1,
                    progress: bool = False, images: Iterable[str] | None = None,
                    executor: Any = None) -> PixelAgreement:
    """Cohen's kappa per pair, Fleiss' kappa and Krippendorff's alpha of a whole study.

    One pass over the images (``n_jobs`` worker processes or an ``executor``; the same result
    as serial); each image adds one :class:`~agreement.metrics.pixel.PixelCounts` table, the
    metrics are computed from the sum. Annotators missing on an image are missing values there.
    See :mod:`agreement.metrics.pixel` for ``void``.

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
    images = None if images is None else list(images)
    return run(study, [PixelPart(void)], images=images, n_jobs=n_jobs, progress=progress,
               executor=executor)[0]
