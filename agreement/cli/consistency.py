"""``agreement consistency STUDY``: every annotator scored against every other (human consistency).

STUDY is a study folder (one export or label-map folder per annotator) or a BSDS ground-truth
folder of ``.mat`` files. Prints the study figures; ``--json`` writes them (keys ``n_images``,
``covering``, ``pri``, ``vi``, ``pq``, ``sq``, ``rq``, ``tp``, ``fp``, ``fn``, plus ``n_pairs``,
``iou_sum``, ``skipped_images``), ``--csv`` the per-image table, ``--pairs-csv`` the per-pair one,
``--by-class`` parsing covering per class (for panoptic studies), ``--plot`` the per-image
covering.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..errors import StudyError
from ..io._files import atomic_write
from ._common import (
    add_jobs_flag,
    add_output_flags,
    emit_json,
    json_to_stdout,
    n_jobs,
    open_for,
    show_progress,
)
from ._scheduler import add_scheduler_flag, scheduler

if TYPE_CHECKING:  # the consistency part (scipy, pandas) is imported when the command runs
    from ..study.consistency import ConsistencyResult


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the sub-command."""
    p = sub.add_parser(
        "consistency",
        help="human consistency: covering, PRI, VI and class-agnostic PQ between annotators",
        description="Score every annotator's segmentation against every other annotator's, as "
                    "the BSDS region benchmark's 'Human' row (see docs/region_measures.md).",
    )
    p.add_argument("study", help="study folder, or a BSDS folder of .mat files")
    p.add_argument("--csv", metavar="PER_IMAGE.csv", help="write the per-image table as CSV")
    p.add_argument("--pairs-csv", metavar="PAIRS.csv",
                   help="write one row per (image, ref, other) as CSV")
    p.add_argument("--by-class", metavar="CLASSES.csv",
                   help="write parsing covering per class (panoptic studies) as CSV")
    p.add_argument("--plot", metavar="OUT.png",
                   help="plot the per-image covering, least consistent images first")
    add_jobs_flag(p, "--jobs")
    add_output_flags(p, json_help="write the study figures as JSON to OUT, or to stdout instead "
                     "of the text when OUT is omitted")
    add_scheduler_flag(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load the study, compute its consistency, print and write the results."""
    from ..study.consistency import ConsistencyPart, parsing_covering_by_class
    from ..study.runner import run as run_parts

    study = open_for(args, args.study).study
    # the per-image and per-pair tables are kept only for the outputs that write them
    part = ConsistencyPart(per_image=bool(args.csv or args.plot), pairs=bool(args.pairs_csv))
    with scheduler(args) as executor:
        result, = run_parts(study, [part], n_jobs=n_jobs(args), progress=show_progress(args),
                            executor=executor)
        by_class = (parsing_covering_by_class(study, progress=show_progress(args),
                                              n_jobs=n_jobs(args), executor=executor)
                    if args.by_class else None)
    if result.n_images == 0:
        raise StudyError(f"study must have an image that two annotators share, got none of "
                         f"{len(study.images)} image(s) (names are matched case-sensitively; "
                         f"'agreement validate' lists the missing ones)")
    summary = result.to_dict()
    if args.csv:
        with atomic_write(args.csv) as tmp:
            result.to_frame().to_csv(tmp, index=False)
    if args.pairs_csv:
        with atomic_write(args.pairs_csv) as tmp:
            result.pairs.to_csv(tmp, index=False)
    if args.plot:
        _plot(result, args.plot)
    covering = None
    if by_class is not None:
        with atomic_write(args.by_class) as tmp:
            by_class.to_csv(tmp, index=False)
        covering = (f"parsing covering {_fmt(float(by_class.covering.mean()))} "
                    f"(mean over {len(by_class)} classes)")
    if args.json:  # written last: the figures, once every other output is written
        emit_json(summary, args.json)
    if json_to_stdout(args):
        return 0
    if covering:
        print(covering)
    print(f"{result.n_images} images, {summary['n_pairs']} ordered annotator pairs")
    print(f"covering {_fmt(result.covering)}  PRI {_fmt(result.pri)}  VI {_fmt(result.vi)} bits")
    print(f"class-agnostic PQ {_fmt(result.pq)}  SQ {_fmt(result.sq)}  RQ {_fmt(result.rq)}  "
          f"(TP {result.tp}, FP {result.fp}, FN {result.fn})")
    if result.skipped:
        print(f"{len(result.skipped)} images with fewer than two annotators were skipped")
    print("Each annotator scored against each other one, classes ignored (BSDS's \"Human\" "
          "row). Covering: 0-1, higher = their regions coincide (pooled over images and pairs). "
          "PRI, probabilistic Rand index: 0-1, higher = more pixel pairs grouped alike. VI, "
          "variation of information: 0 = identical, higher = more different (PRI and VI: mean "
          "over each image's pairs, then over images). PQ / SQ / RQ: as panoptic quality, "
          "segments matched regardless of class (pooled). docs/region_measures.md has the "
          "definitions.")
    return 0


def _plot(result: ConsistencyResult, path: str) -> None:
    from ..study.consistency import plot_per_image

    fig = plot_per_image(result)
    with atomic_write(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)


def _fmt(value: float) -> str:
    return "n/a" if value != value else f"{value:.4f}"
