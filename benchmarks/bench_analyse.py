"""Benchmark: the one-pass study analysis against one pass per analysis, on the sample study.

``analyse`` decodes each image's maps once and shares the category maps and pairwise matching
between the kernels; the reference calls each study-level function on its own (evaluate,
disagreement, leave-one-out, validation, pixel coincidences: each decodes every map again).
Checks that both give equal tables and prints the times and map reads.

Run: ``.venv/bin/python benchmarks/bench_analyse.py [--study data/sample/batch1] [--n-jobs 1]``
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

from pandas import testing as pd_testing

from agreement.io.study_loader import load_study
from agreement.model import Study
from agreement.study.analysis import analyse
from agreement.study.coincidence import coincidence_frame
from agreement.study.disputes import disagreement
from agreement.study.loo import leave_one_out
from agreement.study.pq import evaluate
from agreement.study.validation import validate

ROOT = Path(__file__).resolve().parent.parent


class Counting:
    """A source wrapper counting ``load`` calls."""

    def __init__(self, inner, counter: Counter) -> None:
        self.inner, self.counter = inner, counter
        self.name, self.categories, self.images = inner.name, inner.categories, inner.images

    def load(self, file_name: str):
        self.counter[self.name] += 1
        return self.inner.load(file_name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default=str(ROOT / "data" / "sample" / "batch1"))
    parser.add_argument("--n-jobs", type=int, default=1)
    args = parser.parse_args()
    base = load_study(args.study)
    reads: Counter = Counter()
    study = Study({a: Counting(base.source(a), reads) for a in base.annotators})
    n = args.n_jobs

    t = time.perf_counter()
    ref = {"pq": evaluate(study, n_jobs=n), "disagreement": disagreement(study, n_jobs=n),
           "loo": leave_one_out(study, n_jobs=n), "validation": validate(study),
           "coincidence": coincidence_frame(study, n_jobs=n)}
    t_ref, reads_ref = time.perf_counter() - t, sum(reads.values())
    reads.clear()
    t = time.perf_counter()
    one = analyse(study, parts=tuple(ref), n_jobs=n)
    t_one, reads_one = time.perf_counter() - t, sum(reads.values())

    pd_testing.assert_frame_equal(one.pq.per_pair_class, ref["pq"].per_pair_class)
    pd_testing.assert_frame_equal(one.disagreement.regions, ref["disagreement"].regions)
    pd_testing.assert_frame_equal(one.loo.counts, ref["loo"].counts)
    pd_testing.assert_frame_equal(one.validation, ref["validation"])
    pd_testing.assert_frame_equal(one.coincidence, ref["coincidence"])
    images = len(base.images)
    print(f"{base!r}, n_jobs={n}")
    print(f"one pass per analysis: {t_ref:6.2f} s ({images / t_ref:.2f} images/s), "
          f"{reads_ref if n == 1 else '?'} map reads")
    print(f"analyse (one pass):    {t_one:6.2f} s ({images / t_one:.2f} images/s), "
          f"{reads_one if n == 1 else '?'} map reads; x{t_ref / t_one:.2f}; tables equal")


if __name__ == "__main__":
    main()
