"""Run the library's study-level analyses for a report.

One pass over the images (:func:`agreement.study.runner.run`, on a process pool with
``n_jobs > 1`` or any executor) gives the study result (:class:`agreement.study.pq.PQPart`,
without the per-segment table: the report reads the status counts), the disagreement
(:class:`agreement.study.disputes.DisputesPart`), leave-one-out scores
(:class:`agreement.study.loo.LooPart`), the validation findings and, on disk, every image's
joint tables (:class:`agreement.study.tables.TablesPart`), each image decoded once. The counts
of the study with a confused class pair merged (whose gain a proposal shows, and which depend on
the pass's results) are then read from those tables, without decoding any image again
(:func:`agreement.study.merged.merged_counts`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..model import Study
from .gains import pooled_counts

__all__ = ["Passes", "merged_counts", "run_passes"]


@dataclass(frozen=True, eq=False)
class Passes:
    """The results of the study-level pass: ``result``, ``disagreement``, ``loo`` (None with
    fewer than three annotators), ``validation``, ``tables`` (the joint tables kept on disk)."""

    result: Any
    disagreement: Any
    loo: Any
    validation: pd.DataFrame | None = None
    tables: Any = None


def run_passes(study: Study, *, n_jobs: int = 1, boundary: bool = True, progress: bool = False,
               small_area: int = 32 * 32, tables: bool = True,
               step: Callable[[str], None] = lambda _: None, executor: Any = None) -> Passes:
    """Evaluate, find disagreement, score leave-one-out, validate (and keep the joint tables
    with ``tables``) in one pass over the images (``n_jobs`` worker processes or an
    ``executor``; a per-image progress bar with ``progress``)."""
    from ..study.disputes import DisputesPart
    from ..study.loo import LooPart
    from ..study.pq import PQPart
    from ..study.runner import run
    from ..study.tables import TablesPart
    from ..study.validation import ValidationPart

    parts = [PQPart(boundary=boundary, segments=False, small_area=small_area),
             DisputesPart(maps=True), ValidationPart()]  # maps: the mean heatmap
    parts += [LooPart()] if len(study.annotators) > 2 else []
    parts += [TablesPart()] if tables else []
    res = run(study, parts, n_jobs=n_jobs, progress=progress, executor=executor,
              desc="analyse")
    step("analyse")
    out = dict(zip(("result", "disagreement", "validation"), res[:3], strict=True))
    rest = iter(res[3:])
    return Passes(out["result"], out["disagreement"],
                  next(rest) if len(study.annotators) > 2 else None, out["validation"],
                  next(rest) if tables else None)


def merged_counts(
    study: Study,
    pairs: Sequence[tuple[int, int]],
    *,
    tables: Any,
    image_categories: pd.DataFrame,
    step: Callable[[str], None] = lambda _: None,
) -> dict[tuple[int, int], pd.DataFrame]:
    """The pooled PQ counts of the study with each pair's second class relabelled as the first,
    from the pass's joint tables (:class:`agreement.study.tables.TableStore`).

    Only images where either class of a pair occurs (``image_categories``, the study result's)
    are evaluated for it: elsewhere the merged class has no count.
    """
    from ..study.merged import merged_counts as from_tables

    pairs = [(int(a), int(b)) for a, b in pairs]
    if not pairs:
        return {}
    cats = image_categories
    images_of = [set(cats.loc[cats["category_id"].isin((a, b)), "image"].astype(str))
                 for a, b in pairs]
    counts = from_tables(tables, study, pairs, images_of)
    out = {}
    for pair in pairs:
        out[pair] = pooled_counts(counts[pair])
        step("merged pair")
    return out
