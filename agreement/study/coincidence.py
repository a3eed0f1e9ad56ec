"""Per-image pixel coincidence counts of a study (:func:`coincidence_frame`): what per-class
Krippendorff's alpha and the confused class pairs of a batch comparison resample."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..image.maps import ImageMaps
from ..metrics.counts import coincidence_matrix
from ..model import Study
from ._rows import Columns, Rows
from .runner import Part, run

__all__ = ["CoincidencePart", "coincidence_frame"]

DTYPES: dict[str, Any] = {"image": object, "category_a": np.int64, "category_b": np.int64,
                          "count": np.float64}


@dataclass(frozen=True)
class CoincidencePart(Part[Rows, pd.DataFrame]):
    """:func:`coincidence_frame` as a part of a pass."""

    name = "coincidence"
    label = "pixel coincidences"

    def kernel(self, maps: ImageMaps) -> Rows:
        if len(maps.annotations) < 2:
            return Rows()
        counts = maps.pixel_counts("exclude")
        o = coincidence_matrix(counts.stratum_tables[:, 1:, 1:])
        i, j = np.nonzero(o)
        ids = np.asarray(maps.category_ids)
        return Rows.of(i.size, image=maps.image, category_a=ids[i], category_b=ids[j],
                       count=o[i, j])

    def merge(self, a: Rows, b: Rows) -> Rows:
        return a + b

    def fold(self, total: Columns | None, chunk: Rows) -> Columns:
        """The rows kept compact (:class:`~agreement.study._rows.Columns`)."""
        total = Columns(DTYPES) if total is None else total
        total.extend(chunk)
        return total

    def finish(self, total: Columns | None, study: Study) -> pd.DataFrame:
        return (total or Columns(DTYPES)).frame({"image": study.images})


def coincidence_frame(study: Study, *, n_jobs: int = 1, progress: bool = False,
                      executor: Any = None) -> pd.DataFrame:
    """Per-image pixel coincidence counts of a study (void excluded), as a tidy frame.

    Columns ``image``, ``category_a``, ``category_b``, ``count`` (only non-zero entries). Decodes
    each image's maps once; images with fewer than two annotators contribute nothing. ``n_jobs``
    worker processes (or an ``executor``) give the same result as one.
    """
    return run(study, [CoincidencePart()], n_jobs=n_jobs, progress=progress,
               executor=executor)[0]
