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
from ..study._rows import SpilledFrame, frame_of, spill_frame

__all__ = ["Batch"]

def _row_annotators(result: Any) -> tuple[str, ...]:
    """The annotators on either side of some row of an evaluation's coded rows, sorted (those of
    its per-image table, without the table)."""
    who = result.totals.study_annotators
    a = len(who)
    seen = np.zeros(a * a, bool)
    for _, cols in result.totals.rows.blocks:
        seen[np.asarray(cols["pair"], dtype=np.int64)] = True
    pairs = np.flatnonzero(seen).tolist()
    return tuple(sorted({who[p // a] for p in pairs} | {who[p % a] for p in pairs}))


def _pairwise_agreement(per_image: pd.DataFrame) -> pd.DataFrame:
    """Each annotator's PQ counts against the others: rows where it is ``other`` or ``ref``."""
    cols = ["image", "category_id", *PQ_FIELDS]
    as_other = per_image[["other", *cols]].rename(columns={"other": "annotator"})
    as_ref = per_image[["ref", *cols]].rename(columns={"ref": "annotator"})
    both = pd.concat([as_other, as_ref], ignore_index=True)
    return pooled(both, ["image", "annotator", "category_id"], PQ_FIELDS)


def _add_alpha(out: np.ndarray, coincidence: pd.DataFrame, images: Sequence[str],
               category_ids: Sequence[int]) -> None:
    """Alpha's counts per image and class into ``out[:, :, 0:3]``: ``o_cc`` (the class's
    coincidences with itself), ``o_c`` (all its coincidences), ``o_n`` (the image's, in every
    class's column). Each cell adds its rows in the table's order, as a tidy table of the rows
    summed by :meth:`CountTable.from_frame` would (the same float sums), without one."""
    o = coincidence
    at_image = {v: i for i, v in enumerate(images)}
    at_class = {c: j for j, c in enumerate(category_ids)}
    ii = np.fromiter((at_image.get(v, -1) for v in o["image"].tolist()), np.int64, count=len(o))
    cc = np.fromiter((at_class.get(c, -1) for c in o["category_a"].tolist()), np.int64,
                     count=len(o))
    count = o["count"].to_numpy(dtype=np.float64)
    count = np.where(np.isnan(count), 0.0, count)  # a NaN count adds nothing (as a 0)
    keep = (ii >= 0) & (cc >= 0)
    same = keep & (o["category_a"] == o["category_b"]).to_numpy()
    np.add.at(out[:, :, 0], (ii[same], cc[same]), count[same])
    np.add.at(out[:, :, 1], (ii[keep], cc[keep]), count[keep])
    total = o.groupby("image")["count"].sum()  # pandas' sum, as before
    out[:, :, 2] = total.reindex(images, fill_value=0.0).to_numpy()[:, None]


@dataclass(frozen=True)
class Batch:
    """One batch's per-image additive tables (see the module docstring).

    Build it with :meth:`from_study` (runs the study evaluation) or :meth:`from_tables`. A batch
    of :meth:`from_study` keeps the evaluation's coded rows and builds :attr:`per_image` only
    when it is read (540,000 rows for 10,000 images of three annotators); the comparison reads
    its sums from the coded rows (the same numbers).
    """

    name: str
    categories: Categories
    annotators: tuple[str, ...]
    images: tuple[str, ...]
    _per_image: pd.DataFrame | SpilledFrame | None = field(repr=False)
    _coincidence: pd.DataFrame | SpilledFrame | None = field(default=None, repr=False)
    _agreement: pd.DataFrame | SpilledFrame | None = field(default=None, repr=False)
    agreement_kind: str = "pairwise"
    _result: Any = field(default=None, repr=False, compare=False)

    @property
    def coincidence(self) -> pd.DataFrame | None:
        """Per (``image``, ``category_a``, ``category_b``): pixel coincidence ``count`` (see the
        module docstring), or None without pixel tables. A batch of :meth:`from_study` keeps a
        large table in a temporary file and builds it again at each read."""
        return frame_of(self._coincidence)

    @property
    def agreement(self) -> pd.DataFrame | None:
        """Per (``image``, ``annotator``, ``category_id``): the annotator's PQ counts against
        the others (see the module docstring); kept as :attr:`coincidence` is."""
        return frame_of(self._agreement)

    @property
    def per_image(self) -> pd.DataFrame:
        """Per (``image``, ``ref``, ``other``, ``category_id``): ``tp``, ``fp``, ``fn``,
        ``iou_sum`` (and the boundary sums): the study result's table."""
        if self._per_image is None:  # from_study: built once, when first read
            object.__setattr__(self, "_per_image", self._result.per_image)
        return frame_of(self._per_image)

    @property
    def lazy(self) -> bool:
        """Whether :attr:`per_image` is still to be built from the evaluation's coded rows."""
        return self._per_image is None

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
        name = name or "batch"
        images = getattr(result, "images", study.images)
        if not consensus or not hasattr(result, "totals"):
            made = cls.from_tables(result.per_image, name=name, categories=study.categories,
                                   images=images, coincidence=res.coincidence,
                                   agreement=res.loo.counts if consensus else None,
                                   agreement_kind="consensus" if consensus else "pairwise")
            return cls(made.name, made.categories, made.annotators, made.images,
                       *(spill_frame(t) for t in (made._per_image, made._coincidence,
                                                  made._agreement)), made.agreement_kind)
        # the per-image table is left to be built if read: the comparison reads the coded rows;
        # the large tables wait in temporary files (a few kB an image, for every image)
        return cls(name, study.categories, _row_annotators(result), tuple(images), None,
                   spill_frame(res.coincidence), spill_frame(res.loo.counts), "consensus",
                   result)

    @property
    def has_boundary(self) -> bool:
        """Whether ``per_image`` carries the boundary sums."""
        if self.lazy:
            return bool(self._result.boundary)
        return all(c in self._per_image.columns for c in BOUNDARY_FIELDS)

    def used_category_ids(self) -> set[int]:
        """Classes with a PQ count (``tp``, ``fp`` or ``fn``) in some image and pair."""
        if self.lazy:  # sums of non-negative counts: positive where some row is
            t = self._result.count_table(("tp", "fp", "fn"))
            return {int(c) for c, n in zip(t.groups, t.values.sum(axis=(0, 2)), strict=True)
                    if n > 0}
        f = self.per_image
        return set(f.loc[f[["tp", "fp", "fn"]].sum(axis=1) > 0, "category_id"].astype(int))

    @property
    def class_fields(self) -> tuple[str, ...]:
        """Fields of :meth:`class_table`."""
        return (PQ_FIELDS + (BOUNDARY_FIELDS if self.has_boundary else ())
                + (ALPHA_FIELDS if self._coincidence is not None else ()))

    def class_table(self, category_ids: Sequence[int]) -> CountTable:
        """Per image and class: PQ (+ boundary) counts over all annotator pairs, and alpha's."""
        fields = PQ_FIELDS + (BOUNDARY_FIELDS if self.has_boundary else ())
        if self.lazy:  # the same sums, read from the coded rows (no table of every row)
            table = self._result.count_table(fields).reindex(images=self.images,
                                                             groups=category_ids)
        else:
            table = CountTable.from_frame(self.per_image, fields=fields, images=self.images,
                                          groups=category_ids)
        if self._coincidence is None:
            return table
        k, names = len(table.fields), table.fields  # one array for both (one copy of each)
        values = np.zeros((*table.values.shape[:2], k + len(ALPHA_FIELDS)))
        values[:, :, :k] = table.values
        del table
        _add_alpha(values[:, :, k:], self.coincidence, self.images, category_ids)
        return CountTable._owning(tuple(self.images), tuple(category_ids), names + ALPHA_FIELDS,
                                  values)

    def annotator_table(self, annotators: Sequence[str], category_ids: Sequence[int]
                        ) -> CountTable:
        """Per image and (annotator, class): the annotator's PQ counts against the others."""
        groups = [(a, c) for a in annotators for c in category_ids]
        return CountTable.from_frame(self.agreement, fields=PQ_FIELDS, images=self.images,
                                     group=("annotator", "category_id"), groups=groups)

    def pair_table(self, pairs: Sequence[tuple[int, int]]) -> CountTable:
        """Per image and class pair ``(c, d)``: pixel values confused between them, and all."""
        if self._coincidence is None:
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
        return CountTable._owning(self.images, tuple(pairs), ("confused", "values"), values)

    def summary(self) -> pd.DataFrame:
        """One row: name, images, annotators, classes used, agreement kind, pixel tables."""
        used = len(self.used_category_ids())
        return pd.DataFrame([{"batch": self.name, "images": len(self.images),
                              "annotators": len(self.annotators), "classes_used": int(used),
                              "agreement": self.agreement_kind,
                              "pixel": self._coincidence is not None}])

    def __repr__(self) -> str:
        return (f"Batch({self.name!r}: {len(self.images)} images, {len(self.annotators)} "
                f"annotators, agreement={self.agreement_kind!r})")

    def _repr_html_(self) -> str:
        return (f"<p><b>Batch {html.escape(self.name)}</b></p>"
                + self.summary().to_html(index=False))
