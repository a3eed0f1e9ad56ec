"""Run the library's study-level analyses for a report, in parallel when ``n_jobs > 1``.

One pass over the images (:func:`agreement.study.analysis.analyse`, a process pool over images
with ``n_jobs > 1``) gives the study result (:func:`agreement.study.pq.evaluate`), the
disagreement (:func:`agreement.study.disputes.disagreement`), leave-one-out scores
(:func:`agreement.study.loo.leave_one_out`) and the validation findings, each image decoded once.
Then one evaluation per confused class pair whose merge gain is wanted (it depends on the first
pass's results); with ``n_jobs > 1`` those run side by side in a process pool. The results are
the same objects as the serial run's.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..model import Study
from .gains import merge_categories, pooled_counts

__all__ = ["Passes", "merged_counts", "run_passes"]


@dataclass(frozen=True, eq=False)
class Passes:
    """The results of the study-level pass: ``result``, ``disagreement``, ``loo`` (None with
    fewer than three annotators), ``validation``."""

    result: Any
    disagreement: Any
    loo: Any
    validation: pd.DataFrame | None = None


def _evaluate(
    study: Study, boundary: bool, progress: bool = False, images: Sequence[str] | None = None
):
    from ..study.pq import evaluate

    return evaluate(study, n_jobs=1, boundary=boundary, progress=progress, images=images)


def _merged_pooled(study: Study, a: int, b: int, images: Sequence[str] | None) -> pd.DataFrame:
    merged = merge_categories(study, a, b)
    return pooled_counts(_evaluate(merged, False, images=images).per_pair_class)


def _workers(n_jobs: int) -> int:
    return (os.cpu_count() or 1) if n_jobs < 0 else max(1, n_jobs)


def _run(tasks: Sequence[tuple[Callable, tuple]], n_jobs: int, step: Callable[[str], None]) -> list:
    if _workers(n_jobs) <= 1 or len(tasks) <= 1:
        out = []
        for fn, args in tasks:
            out.append(fn(*args))
            step(fn.__name__.strip("_"))
        return out
    with cf.ProcessPoolExecutor(max_workers=min(_workers(n_jobs), len(tasks))) as pool:
        futures = {pool.submit(fn, *args): i for i, (fn, args) in enumerate(tasks)}
        out: list = [None] * len(tasks)
        for fut in cf.as_completed(futures):
            out[futures[fut]] = fut.result()
            step(tasks[futures[fut]][0].__name__.strip("_"))
        return out


def run_passes(
    study: Study,
    *,
    n_jobs: int = 1,
    boundary: bool = True,
    progress: bool = False,
    step: Callable[[str], None] = lambda _: None,
) -> Passes:
    """Evaluate, find disagreement, score leave-one-out and validate, in one pass over the
    images (``n_jobs`` worker processes; a per-image progress bar with ``progress``)."""
    from ..study.analysis import analyse

    parts = ["pq", "disagreement", "validation"]
    if len(study.annotators) > 2:
        parts.append("loo")
    res = analyse(study, parts=parts, options={"pq": {"boundary": boundary}}, n_jobs=n_jobs,
                  progress=progress)
    step("analyse")
    return Passes(res.pq, res.disagreement, res.loo, res.validation)


def merged_counts(
    study: Study,
    pairs: Sequence[tuple[int, int]],
    *,
    segments: pd.DataFrame | None = None,
    n_jobs: int = 1,
    step: Callable[[str], None] = lambda _: None,
) -> Callable[[], dict[tuple[int, int], pd.DataFrame]]:
    """Start computing the pooled PQ counts of the study with each pair's second class relabelled
    as the first; returns a function that waits for them (so the caller can draw figures
    meanwhile when ``n_jobs > 1``)."""
    pairs = list(pairs)
    # only images where a or b occurs change: elsewhere the merged class has no count
    used = (
        {}
        if segments is None
        else {
            (a, b): sorted(segments.loc[segments["category_id"].isin((a, b)), "image"].unique())
            for a, b in pairs
        }
    )
    tasks = [(_merged_pooled, (study, a, b, used.get((a, b)) or None)) for a, b in pairs]
    if _workers(n_jobs) <= 1 or not pairs:

        def serial() -> dict[tuple[int, int], pd.DataFrame]:
            out = _run(tasks, 1, step)
            return dict(zip(pairs, out, strict=True))

        return serial
    pool = cf.ProcessPoolExecutor(max_workers=min(_workers(n_jobs), len(pairs)))
    futures = [pool.submit(fn, *args) for fn, args in tasks]

    def join() -> dict[tuple[int, int], pd.DataFrame]:
        try:
            out = {}
            for pair, fut in zip(pairs, futures, strict=True):
                out[pair] = fut.result()
                step("merged pair")
            return out
        finally:
            pool.shutdown(cancel_futures=True)

    return join
