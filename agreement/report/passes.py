"""Run the library's study-level analyses for a report.

One pass over the images (:func:`agreement.study.runner.run`, on a process pool with
``n_jobs > 1`` or any executor) gives the study result (:class:`agreement.study.pq.PQPart`,
without the per-segment table: the report reads the status counts), the disagreement
(:class:`agreement.study.disputes.DisputesPart`), leave-one-out scores
(:class:`agreement.study.loo.LooPart`), the validation findings and the findings about the
annotators (:class:`agreement.study.findings_part.FindingsPart`, which shares each annotator's
consensus of the others with the leave-one-out scores), each image decoded once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..diagnosis import Findings, Options
from ..model import Study

__all__ = ["Passes", "run_passes"]


@dataclass(frozen=True, eq=False)
class Passes:
    """The results of the study-level pass: ``result``, ``disagreement``, ``loo`` (None with
    fewer than three annotators), ``validation``, ``findings``."""

    result: Any
    disagreement: Any
    loo: Any
    validation: pd.DataFrame | None = None
    findings: Findings | None = None


def run_passes(study: Study, *, n_jobs: int = 1, boundary: bool = True, progress: bool = False,
               small_area: int = 32 * 32, findings: Options | None = None,
               step: Callable[[str], None] = lambda _: None, executor: Any = None) -> Passes:
    """Evaluate, find disagreement, score leave-one-out, validate and find who does what
    differently (``findings``: its options) in one pass over the images (``n_jobs`` worker
    processes or an ``executor``; a per-image progress bar with ``progress``)."""
    from ..metrics.counts import PQ_FIELDS
    from ..study.disputes import DisputesPart
    from ..study.findings_part import FindingsPart
    from ..study.loo import LooPart
    from ..study.pq import PQPart
    from ..study.runner import run
    from ..study.validation import ValidationPart

    loo = len(study.annotators) > 2
    # the bootstrap's per-image counts summed per (image, class) as the pass goes: no row per
    # (image, pair, class) is kept (540,000 at 10,000 images)
    # the findings first: parts finish in order, and theirs (the study's largest step: effect
    # tables, permutations, bootstrap) then runs before the others' tables are built
    parts = [FindingsPart(findings or Options()),
             PQPart(boundary=boundary, segments=False, small_area=small_area, per_image=False,
                    image_counts=PQ_FIELDS),
             DisputesPart(maps=True), ValidationPart(compact=True)]  # maps: the mean heatmap
    parts += [LooPart(per_image=False)] if loo else []  # its sums: nothing per image
    res = run(study, parts, n_jobs=n_jobs, progress=progress, executor=executor,
              desc="analyse")
    step("analyse")
    return Passes(res[1], res[2], res[4] if loo else None, res[3], res[0])
