"""Run the library's study-level analyses for a report.

One pass over the images (:func:`agreement.study.analysis.analyse`, on a process pool with
``n_jobs > 1`` or any executor) gives the study result (:func:`agreement.study.pq.evaluate`,
without the per-segment table: the report reads the status counts), the disagreement
(:func:`agreement.study.disputes.disagreement`), leave-one-out scores
(:func:`agreement.study.loo.leave_one_out`) and the validation findings, each image decoded once.
Then, for the confused class pairs whose merge gain is wanted (they depend on the first pass's
results), one more pass computes the counts with each pair merged, on the images where either
class occurs (:func:`agreement.study.merged.merged_counts`); with parallel workers it runs while
the caller draws the crops.
"""

from __future__ import annotations

import concurrent.futures as cf
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
    fewer than three annotators), ``validation``."""

    result: Any
    disagreement: Any
    loo: Any
    validation: pd.DataFrame | None = None


def run_passes(study: Study, *, n_jobs: int = 1, boundary: bool = True, progress: bool = False,
               small_area: int = 32 * 32, step: Callable[[str], None] = lambda _: None,
               executor: Any = None) -> Passes:
    """Evaluate, find disagreement, score leave-one-out and validate, in one pass over the
    images (``n_jobs`` worker processes or an ``executor``; a per-image progress bar with
    ``progress``)."""
    from ..study.analysis import analyse

    parts = ["pq", "disagreement", "validation"]
    if len(study.annotators) > 2:
        parts.append("loo")
    res = analyse(study, parts=parts, options={"pq": {"boundary": boundary, "segments": False,
                                                      "small_area": small_area}},
                  n_jobs=n_jobs, progress=progress, executor=executor)
    step("analyse")
    return Passes(res.pq, res.disagreement, res.loo, res.validation)


def merged_counts(
    study: Study,
    pairs: Sequence[tuple[int, int]],
    *,
    image_categories: pd.DataFrame,
    n_jobs: int = 1,
    executor: Any = None,
    step: Callable[[str], None] = lambda _: None,
) -> Callable[[], dict[tuple[int, int], pd.DataFrame]]:
    """Start computing the pooled PQ counts of the study with each pair's second class relabelled
    as the first; returns a function that waits for them (so the caller can draw figures
    meanwhile when the pass runs on parallel workers).

    Only images where either class of a pair occurs (``image_categories``, the study result's)
    are evaluated for it: elsewhere the merged class has no count.
    """
    from ..study.merged import merged_counts as run_merged

    pairs = [(int(a), int(b)) for a, b in pairs]
    cats = image_categories
    images_of = [sorted(set(cats.loc[cats["category_id"].isin((a, b)), "image"].astype(str)))
                 for a, b in pairs]

    def pooled(counts: dict) -> dict[tuple[int, int], pd.DataFrame]:
        out = {}
        for pair in pairs:
            out[pair] = pooled_counts(counts[pair])
            step("merged pair")
        return out

    if not pairs:
        return lambda: {}
    if executor is None and n_jobs == 1:
        return lambda: pooled(run_merged(study, pairs, images_of))
    pool = cf.ThreadPoolExecutor(max_workers=1)  # waits on the workers while the caller draws
    future = pool.submit(run_merged, study, pairs, images_of, n_jobs=n_jobs, executor=executor)
    pool.shutdown(wait=False)
    return lambda: pooled(future.result())
