"""``agreement report STUDY --out DIR``: the guideline-revision report of a study.

Writes ``DIR/report.html`` (self-contained), ``DIR/report.md``, ``DIR/figures/`` and one CSV per
table, atomically; prints the path of ``report.html`` (or, with ``--json``, a JSON summary: the
headline numbers, the ranked problems and proposals, the output paths).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ._common import (
    STUDY_HELP,
    add_jobs_flag,
    add_output_flags,
    count,
    emit_json,
    json_to_stdout,
    n_jobs,
    note,
    open_for,
    show_progress,
)
from ._scheduler import add_scheduler_flag, scheduler


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the sub-command."""
    p = sub.add_parser(
        "report",
        help="write the guideline-revision report of a study (HTML, Markdown, CSV)",
        description="Measure how the annotators of STUDY agree, diagnose each class, and propose "
        "guideline revisions; writes report.html, report.md and CSV tables into DIR.",
    )
    p.add_argument("study", help=STUDY_HELP)
    p.add_argument(
        "-o",
        "--out",
        required=True,
        metavar="DIR",
        help="output folder (created; a previous report there is replaced)",
    )
    p.add_argument(
        "--images",
        metavar="DIR",
        default=None,
        help="folder of the photos shown under the crops (default: the study file's "
        "images_dir, else an images/ folder in or beside the study)",
    )
    p.add_argument("--title", default=None, help="report title (default: from the study)")
    p.add_argument(
        "--bootstrap",
        type=count,
        default=1000,
        metavar="B",
        help="bootstrap resamples over images for confidence intervals (default 1000; "
        "0 = no intervals)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed of the bootstrap (default 0)")
    p.add_argument("--no-boundary", action="store_true", help="skip boundary IoU (faster)")
    p.add_argument(
        "--max-examples",
        type=count,
        default=3,
        metavar="N",
        help="example crops per confused class pair (default 3)",
    )
    p.add_argument(
        "--review-rows",
        type=count,
        default=100,
        metavar="N",
        help="rows of the review queue (review_queue.csv; default 100)",
    )
    add_jobs_flag(p)
    add_scheduler_flag(p)
    add_output_flags(
        p,
        json_help="write a JSON summary (headline numbers, ranked problems, paths) to OUT, "
        "or to stdout instead of the report path when OUT is omitted",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Build and write the report; exit 0 when written."""
    from ..report import write_report
    from ..report.build import ReportOptions, build_report
    from ..report.write import check_out

    start = time.perf_counter()
    check_out(args.out)  # fail before the long work
    opened = open_for(args, args.study, images_dir=args.images)
    note(args, f"{opened.study!r}")
    with scheduler(args) as executor:
        options = ReportOptions(
            n_jobs=n_jobs(args),
            progress=show_progress(args),
            boundary=not args.no_boundary,
            n_bootstrap=args.bootstrap,
            seed=args.seed,
            max_examples=args.max_examples,
            review_rows=args.review_rows,
            executor=executor,
        )
        report = build_report(opened, title=args.title, options=options)
    html = write_report(report, args.out)
    elapsed = time.perf_counter() - start
    if args.json:
        emit_json(
            {
                **report.summary,
                "out": str(Path(args.out)),
                "report_html": str(html),
                "report_md": str(html.with_name("report.md")),
                "seconds": round(elapsed, 2),
            },
            args.json,
        )
    if not json_to_stdout(args):
        note(args, f"report written in {elapsed:.1f} s")
        print(html)
    return 0
