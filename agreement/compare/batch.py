"""A batch of annotations reduced to the per-image additive tables that batch comparison resamples.

A :class:`Batch` holds, for one study (one annotation batch), three tidy tables of counts per image.
Everything a comparison reports is a ratio of sums of these counts, so resampling images and
re-summing gives intervals and tests (:mod:`agreement.stats`) without touching a label map again.

``per_image``
    The study result's table (:func:`agreement.study.pq.evaluate`): per (``image``, ``ref``,
    ``other``, ``category_id``) ``tp``, ``fp``, ``fn``, ``iou_sum`` and the boundary sums.
``coincidence``
    Pixel coincidence counts (Krippendorff): per (``image``, ``category_a``, ``category_b``) the
    number of pairable pixel values, each pixel rated by ``m >= 2`` annotators contributing
    ``1 / (m - 1)`` per ordered pair of its values; symmetric, void excluded.
``agreement``
    Per (``image``, ``annotator``, ``category_id``) PQ counts of the annotator against the others
    (``tp``, ``fp``, ``fn``, ``iou_sum``): by default (:meth:`Batch.from_study`) against the
    consensus of the other annotators (:func:`agreement.study.loo.leave_one_out`, the consensus
    is the reference); ``"pairwise"``: the rows of ``per_image`` where the annotator is one side.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import StudyError
from ..metrics.counts import (
    ALPHA_FIELDS,
    BOUNDARY_FIELDS,
    PQ_FIELDS,
    pooled,
)
from ..model import Categories, Study
from ..stats import CountTable

__all__ = ["Batch"]

def _pairwise_agreement(per_image: pd.DataFrame) -> pd.DataFrame:
    """Each annotator's PQ counts against the others: rows where it is ``other`` or ``ref``."""
    cols = ["image", "category_id", *PQ_FIELDS]
    as_other = per_image[["other", *cols]].rename(columns={"other": "annotator"})
    as_ref = per_image[["ref", *cols]].rename(columns={"ref": "annotator"})
    both = pd.concat([as_other, as_ref], ignore_index=True)
    return pooled(both, ["image", "annotator", "category_id"], PQ_FIELDS)


@dataclass(frozen=True)
class Batch:
    """One batch's per-image additive tables (see the module docstring).

    Build it with :meth:`from_study` (runs the study evaluation) or :meth:`from_tables`.
    """

    name: str
    categories: Categories
    annotators: tuple[str, ...]
    images: tuple[str, ...]
    per_image: pd.DataFrame = field(repr=False)
    coincidence: pd.DataFrame | None = field(default=None, repr=False)
    agreement: pd.DataFrame | None = field(default=None, repr=False)
    agreement_kind: str = "pairwise"

    @classmethod
    def from_tables(
        cls,
        per_image: pd.DataFrame,
        *,
        name: str,
        categories: Categories,
        images: Sequence[str] | None = None,
        coincidence: pd.DataFrame | None = None,
        agreement: pd.DataFrame | None = None,
        agreement_kind: str | None = None,
    ) -> Batch:
        """A batch from its tables; ``agreement`` defaults to the pairwise one of ``per_image``."""
        missing = [c for c in ("image", "ref", "other", "category_id", *PQ_FIELDS)
                   if c not in per_image.columns]
        if missing:
            raise StudyError(f"per_image must have columns {missing}, got {list(per_image)}")
        images = tuple(sorted(per_image["image"].unique())) if images is None else tuple(images)
        annotators = tuple(sorted(set(per_image["ref"]) | set(per_image["other"])))
        kind = agreement_kind or ("pairwise" if agreement is None else "consensus")
        if agreement is None:
            agreement = _pairwise_agreement(per_image)
        return cls(name, categories, annotators, images, per_image, coincidence, agreement, kind)

    @classmethod
    def from_study(
        cls, study: Study, *, name: str | None = None, result: object | None = None,
        n_jobs: int = 1, progress: bool = False, pixel: bool = True, consensus: bool = True,
        executor: Any = None,
    ) -> Batch:
        """Evaluate a study (unless its ``result`` is given) and collect the batch's tables.

        One pass over the images (:func:`agreement.study.analysis.analyse`) computes every
        table.

        Parameters
        ----------
        study : Study
        name : str, optional
            Batch name used in tables and plots (default ``"batch"``).
        result : StudyResult, optional
            :func:`agreement.study.evaluate` of the study, when already computed.
        n_jobs, progress
            Worker processes over images and a progress bar, for every pass.
        executor : concurrent.futures.Executor or distributed.Client, optional
            Run the images there (:mod:`agreement.study.runner`).
        pixel : bool
            Collect pixel coincidences (per-class alpha, confused class pairs).
        consensus : bool
            Score each annotator against the consensus of the others
            (:func:`agreement.study.loo.leave_one_out`, the slowest pass); otherwise against
            the other annotators pairwise.
        """
        from ..study.analysis import Analysis, analyse

        parts = [p for p, wanted in (("pq", result is None), ("coincidence", pixel),
                                     ("loo", consensus)) if wanted]
        res = (analyse(study, parts=parts, options={"pq": {"segments": False}}
                       if result is None else None, n_jobs=n_jobs, progress=progress,
                       executor=executor) if parts else Analysis())
        result = res.pq if result is None else result
        agreement = res.loo.counts if consensus else None
        return cls.from_tables(result.per_image, name=name or "batch",
                               categories=study.categories,
                               images=getattr(result, "images", study.images),
                               coincidence=res.coincidence, agreement=agreement,
                               agreement_kind="consensus" if consensus else "pairwise")

    @property
    def has_boundary(self) -> bool:
        """Whether ``per_image`` carries the boundary sums."""
        return all(c in self.per_image.columns for c in BOUNDARY_FIELDS)

    @property
    def class_fields(self) -> tuple[str, ...]:
        """Fields of :meth:`class_table`."""
        return (PQ_FIELDS + (BOUNDARY_FIELDS if self.has_boundary else ())
                + (ALPHA_FIELDS if self.coincidence is not None else ()))

    def class_table(self, category_ids: Sequence[int]) -> CountTable:
        """Per image and class: PQ (+ boundary) counts over all annotator pairs, and alpha's."""
        fields = PQ_FIELDS + (BOUNDARY_FIELDS if self.has_boundary else ())
        table = CountTable.from_frame(self.per_image, fields=fields, images=self.images,
                                      groups=category_ids)
        if self.coincidence is None:
            return table
        o = self.coincidence
        diag = o[o["category_a"] == o["category_b"]].assign(o_cc=lambda f: f["count"])
        rows = o.assign(o_c=o["count"])
        total = o.groupby("image")["count"].sum()
        both = pd.concat([diag[["image", "category_a", "o_cc"]],
                          rows[["image", "category_a", "o_c"]]], ignore_index=True).fillna(0.0)
        both["o_n"] = 0.0
        alpha = CountTable.from_frame(both, fields=("o_cc", "o_c", "o_n"), group="category_a",
                                      images=self.images, groups=category_ids)
        values = alpha.values.copy()
        values[:, :, 2] = total.reindex(self.images, fill_value=0.0).to_numpy()[:, None]
        return CountTable(table.images, table.groups, table.fields + ALPHA_FIELDS,
                          np.concatenate([table.values, values], axis=2))

    def annotator_table(self, annotators: Sequence[str], category_ids: Sequence[int]
                        ) -> CountTable:
        """Per image and (annotator, class): the annotator's PQ counts against the others."""
        groups = [(a, c) for a in annotators for c in category_ids]
        return CountTable.from_frame(self.agreement, fields=PQ_FIELDS, images=self.images,
                                     group=("annotator", "category_id"), groups=groups)

    def pair_table(self, pairs: Sequence[tuple[int, int]]) -> CountTable:
        """Per image and class pair ``(c, d)``: pixel values confused between them, and all."""
        if self.coincidence is None:
            raise StudyError(f"batch {self.name!r} has no pixel coincidences: build it with "
                             "pixel=True")
        o = self.coincidence
        per_class = o.groupby(["image", "category_a"])["count"].sum()
        rows = []
        for c, d in pairs:  # a loop over the few listed pairs, each vectorised over images
            hit = o[((o["category_a"] == c) & (o["category_b"] == d))
                    | ((o["category_a"] == d) & (o["category_b"] == c))]
            conf = hit.groupby("image")["count"].sum()
            tot = (per_class.xs(c, level=1).reindex(self.images, fill_value=0.0)
                   if c in per_class.index.get_level_values(1) else 0.0)
            tot = tot + (per_class.xs(d, level=1).reindex(self.images, fill_value=0.0)
                         if d in per_class.index.get_level_values(1) else 0.0)
            conf = conf.reindex(self.images, fill_value=0.0)
            rows.append(np.stack([conf.to_numpy(float),
                                  np.broadcast_to(np.asarray(tot, float), conf.shape)], -1))
        values = np.stack(rows, axis=1) if rows else np.zeros((len(self.images), 0, 2))
        return CountTable(self.images, tuple(pairs), ("confused", "values"), values)

    def summary(self) -> pd.DataFrame:
        """One row: name, images, annotators, classes used, agreement kind, pixel tables."""
        used = self.per_image.loc[self.per_image[["tp", "fp", "fn"]].sum(axis=1) > 0,
                                  "category_id"].nunique()
        return pd.DataFrame([{"batch": self.name, "images": len(self.images),
                              "annotators": len(self.annotators), "classes_used": int(used),
                              "agreement": self.agreement_kind,
                              "pixel": self.coincidence is not None}])

    def __repr__(self) -> str:
        return (f"Batch({self.name!r}: {len(self.images)} images, {len(self.annotators)} "
                f"annotators, agreement={self.agreement_kind!r})")

    def _repr_html_(self) -> str:
        return (f"<p><b>Batch {html.escape(self.name)}</b></p>"
                + self.summary().to_html(index=False))
