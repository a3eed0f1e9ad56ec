"""``agreement compare BATCH_A BATCH_B``: what changed between two annotation batches.

Prints which classes, annotators and confused class pairs changed significantly (batch B minus
batch A, bootstrap intervals over images, permutation tests, Holm-adjusted by default) and the
per-class PQ table. ``--json [OUT]`` writes the full comparison as JSON (stdout without OUT),
``--csv DIR`` one CSV per table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ._common import (
    add_jobs_flag,
    add_output_flags,
    n_jobs,
    note,
    open_for,
    show_progress,
    to_jsonable,
)
from ._scheduler import add_scheduler_flag, scheduler


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the sub-command."""
    p = sub.add_parser(
        "compare",
        help="compare two annotation batches (e.g. before/after a guideline revision)",
        description="Compare batch B with batch A per class (PQ, SQ, RQ, boundary IoU, pixel "
        "alpha), per annotator and per confused class pair, with bootstrap intervals over images "
        "and multiple-comparison-corrected permutation tests.",
    )
    p.add_argument("batch_a", help="the earlier batch (study folder or study file)")
    p.add_argument("batch_b", help="the later batch (study folder or study file)")
    p.add_argument("--csv", metavar="DIR", default=None,
                   help="write classes.csv, annotators.csv and class_pairs.csv into DIR")
    p.add_argument("--n-boot", type=int, default=2000, metavar="B",
                   help="bootstrap resamples over images (default 2000)")
    p.add_argument("--n-permutations", type=int, default=2000, metavar="P",
                   help="permutation arrangements per test (default 2000)")
    p.add_argument("--interval", choices=("percentile", "bca"), default="percentile",
                   help="bootstrap interval method (default percentile)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--level", type=float, default=0.05,
                   help="significance level of the adjusted p-values (default 0.05)")
    p.add_argument("--correction", choices=("holm", "bh"), default="holm",
                   help="multiple-comparison adjustment across classes (default holm)")
    pairing = p.add_mutually_exclusive_group()
    pairing.add_argument("--paired", dest="paired", action="store_true", default=None,
                         help="pair the batches on their shared images")
    pairing.add_argument("--unpaired", dest="paired", action="store_false",
                         help="treat the batches as independent samples of images")
    p.add_argument("--no-pixel", action="store_true",
                   help="skip pixel alpha and class-pair confusion (faster)")
    p.add_argument("--pairwise", action="store_true",
                   help="score annotators against the others pairwise instead of against the "
                   "consensus of the others (faster)")
    add_jobs_flag(p)
    add_output_flags(p, json_help="write the comparison as JSON to OUT, or to stdout when OUT is "
                     "omitted (then nothing else is printed)")
    add_scheduler_flag(p)
    p.set_defaults(run=run)


def _load(path: str, *, args: argparse.Namespace, executor: Any = None):
    from ..compare.batch import Batch

    opened = open_for(args, path)
    note(args, f"{Path(path).name}: {opened.study!r}")
    return Batch.from_study(opened.study, name=opened.name or Path(path).name,
                            n_jobs=n_jobs(args), progress=show_progress(args),
                            pixel=not args.no_pixel, consensus=not args.pairwise,
                            executor=executor)


def _write_csv(comparison, folder: str) -> None:
    from ..io._outdir import output_folder

    with output_folder(folder) as tmp:  # the three tables or none, swapped in at once
        for name in ("classes", "annotators", "class_pairs"):
            getattr(comparison, name).to_csv(tmp / f"{name}.csv", index=False,
                                             errors="backslashreplace")


def run(args: argparse.Namespace) -> int:
    """Compare the batches and write what was asked; exit 0."""
    from ..compare.comparison import compare_batches
    from ..io._files import atomic_write
    from ..io._outdir import check_output_folder
    from ..stats import FEW_IMAGES

    if args.json == "-":
        args.quiet = True  # stdout carries the JSON document; only errors reach stderr
    if args.csv:
        check_output_folder(args.csv)  # a wrong folder fails before the long work
    if Path(args.batch_a).resolve() == Path(args.batch_b).resolve():
        note(args, "note: both batches are the same study: every difference is 0 by "
             "construction")
    with scheduler(args) as executor:
        a = _load(args.batch_a, args=args, executor=executor)
        b = _load(args.batch_b, args=args, executor=executor)
    few = min(len(a.images), len(b.images))
    if few < FEW_IMAGES:
        note(args, f"note: a batch of {few} image{'s' * (few != 1)}: the intervals and tests "
             f"resample images, and over fewer than {FEW_IMAGES} they are rough (an interval "
             "of width 0 says nothing)")
    comparison = compare_batches(a, b, n_boot=args.n_boot, n_permutations=args.n_permutations,
                                 seed=args.seed, level=args.level, correction=args.correction,
                                 paired=args.paired, interval=args.interval)
    if args.csv:
        _write_csv(comparison, args.csv)
        note(args, f"tables written to {args.csv}")
    if args.json == "-":
        print(json.dumps(to_jsonable(comparison.to_dict()), indent=2, allow_nan=False))
        return 0
    if args.json:
        with atomic_write(args.json) as tmp:
            tmp.write_text(json.dumps(to_jsonable(comparison.to_dict()), indent=2,
                                      allow_nan=False) + "\n", encoding="utf-8")
        note(args, f"comparison written to {args.json}")
    print(comparison.summary())
    table = comparison.metric("pq")[["a", "b", "difference", "ci_low", "ci_high", "p_adjusted",
                                     "change"]]
    s = comparison.settings
    print(f"\nPQ per class (a = {comparison.a}, b = {comparison.b}; difference = b - a, "
          f"ci_low / ci_high its {100 * s['confidence']:g}% {args.interval} bootstrap interval; "
          f"p_adjusted: {s['correction']}, significant below {s['level']})\n"
          + table.to_string(float_format="{:.3f}".format))
    return 0
