"""``agreement review STUDY --out FILE.csv``: the regions to send back to the annotators, ranked.

One pass over the images (the disagreement pass), then the review queue
(:func:`agreement.study.review.review_queue`): one row per region to look at again, with its
box, class pair, the annotators concerned, why, and their annotations' references in the
annotation tool (CVAT task / job / frame, Label Studio task and annotation ids) when the
exports carry them. ``--findings`` also tests the annotators for systematic differences
(:func:`agreement.diagnosis.find`, a second pass) and ranks first the regions a finding
explains. Writes the CSV atomically and prints the first rows.
"""

from __future__ import annotations

import argparse
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

#: Columns printed (the CSV has them all).
SHOWN = ["rank", "image", "kind", "class_pair", "bbox_x", "bbox_y", "bbox_w", "bbox_h",
         "annotators", "tool", "task", "frame", "jobs", "annotations"]


TOOL_COLUMNS = ("tool", "task", "frame", "jobs", "annotations")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the sub-command."""
    p = sub.add_parser(
        "review", help="write the review queue of a study: the regions to send back, ranked, "
        "with the annotation tool's ids",
        description="Rank the ambiguous regions of STUDY for review (severity, doubled when a "
                    "finding explains the region) and write them as CSV with the annotators "
                    "concerned and their CVAT / Label Studio references.")
    p.add_argument("study", help=STUDY_HELP)
    p.add_argument("-o", "--out", required=True, type=Path, metavar="FILE",
                   help="the CSV to write (replaced atomically)")
    p.add_argument("--top", type=count, default=100, metavar="N",
                   help="rows of the queue (default 100)")
    p.add_argument("--show", type=count, default=10, metavar="N",
                   help="rows printed (default 10; the CSV has --top)")
    p.add_argument("--findings", action="store_true",
                   help="also find the annotators' systematic differences (a second pass) and "
                   "rank the regions they explain first")
    add_jobs_flag(p)
    add_scheduler_flag(p)
    add_output_flags(p, json_help="write the queue as JSON ({study, rows, out, queue: [...]}) to "
                     "OUT, or to stdout instead of the table when OUT is omitted")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Rank, write, print."""
    from ..io._files import atomic_write
    from ..study.review import review_queue

    opened = open_for(args, args.study)
    study = opened.study
    findings = None
    with scheduler(args) as executor:
        if args.findings:  # the second pass runs where the first does (-j, --scheduler)
            from ..diagnosis import find

            findings = find(study, n_jobs=n_jobs(args), executor=executor,
                            progress=show_progress(args))
            note(args, f"{len(findings)} finding(s)")
        queue = review_queue(study, None, findings, top=args.top, n_jobs=n_jobs(args),
                             progress=show_progress(args), executor=executor)
    with atomic_write(args.out) as tmp:
        queue.to_csv(tmp, index=False, lineterminator="\n", errors="backslashreplace")
    if args.json is not None:
        emit_json({"study": opened.name, "annotators": list(study.annotators),
                   "rows": len(queue), "out": str(args.out),
                   "queue": queue.to_dict("records")}, args.json)
    if not json_to_stdout(args):
        # the tool's columns only when an export carries them; the finding when asked for
        columns = [c for c in SHOWN if c not in TOOL_COLUMNS
                   or (queue[c].astype(str).replace("nan", "") != "").any()]
        if args.findings:
            columns.append("finding")
        shown = queue[columns].head(args.show).fillna("")
        if len(shown):
            print(shown.to_string(index=False))
        note(args, f"{len(queue)} region(s) to review written to {args.out}")
    return 0
