"""``agreement validate STUDY``: a readable table of findings; exit 1 when an error exists."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..findings import SEVERITIES
from ..io._files import atomic_write
from ._common import (
    add_jobs_flag,
    add_output_flags,
    emit_json,
    json_to_stdout,
    n_jobs,
    note,
    open_for,
    show_progress,
)
from ._scheduler import add_scheduler_flag, scheduler

if TYPE_CHECKING:
    import pandas as pd


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the sub-command."""
    p = sub.add_parser(
        "validate", help="check a study's exports: overlaps, unknown labels, degenerate polygons, "
        "unlabeled pixels, tiny segments, missing images, crowd candidates",
        description="Exit status: 0 no error-level finding, 1 at least one, 2 bad input.")
    p.add_argument("study", help="study folder (one export per annotator, any supported format)")
    p.add_argument("--format", help="force the export format (default: detect each file)")
    p.add_argument("--categories", help="shared categories file (COCO JSON or a list)")
    p.add_argument("--stuff", default="", help="comma-separated names of stuff categories")
    p.add_argument("--min-area", type=int, default=10, help="tiny-segment threshold in pixels")
    p.add_argument("--max-unlabeled", type=float, default=0.5,
                   help="unlabeled share above which it is a warning")
    p.add_argument("--all", action="store_true", help="list info-level findings one by one too")
    p.add_argument("--csv", help="also write every finding to this CSV file")
    add_jobs_flag(p)
    add_output_flags(p, json_help="write the findings as JSON to OUT (stdout when OUT is "
                     "omitted; then nothing else is printed); the exit status is unchanged")
    add_scheduler_flag(p)
    p.set_defaults(run=run)


def _table(frame: pd.DataFrame) -> str:
    shown = frame.fillna("").copy()
    shown["detail"] = shown["detail"].str.slice(0, 110)
    return shown[["severity", "kind", "annotator", "image", "shape", "detail"]].to_string(
        index=False)


def run(args: argparse.Namespace) -> int:
    """Validate and print; 1 when an error-level finding exists."""
    from ..study.validation import validate

    stuff = [s.strip() for s in args.stuff.split(",") if s.strip()]
    study = open_for(args, args.study, compare=False, format=args.format,
                     categories=args.categories, stuff=stuff or None).study
    with scheduler(args) as executor:
        frame = validate(study, min_area=args.min_area, max_unlabeled=args.max_unlabeled,
                         progress=show_progress(args), n_jobs=n_jobs(args), executor=executor)
    errors = int((frame["severity"] == "error").sum())
    warnings_ = int((frame["severity"] == "warning").sum())
    if args.csv:
        with atomic_write(args.csv) as tmp:
            frame.to_csv(tmp, index=False)
        note(args, f"wrote {len(frame)} findings to {args.csv}")
    if args.json is not None:
        emit_json({"study": repr(study), "annotators": list(study.annotators),
                   "images": len(study.images), "errors": errors, "warnings": warnings_,
                   "findings": frame.to_dict(orient="records")}, args.json)
    if json_to_stdout(args):
        return 1 if errors else 0
    print(repr(study))
    if frame.empty:
        print("no findings")
        return 0
    counts = frame.groupby(["severity", "kind"]).size().rename("count").reset_index()
    counts["order"] = counts["severity"].map({s: i for i, s in enumerate(SEVERITIES)})
    print("\nfindings by kind:")
    print(counts.sort_values(["order", "kind"]).drop(columns="order").to_string(index=False))
    listed = frame if args.all else frame[frame["severity"] != "info"]
    if len(listed):
        print(f"\n{len(listed)} finding(s){'' if args.all else ' (errors and warnings)'}:")
        print(_table(listed))
    print(f"\n{errors} error(s), {warnings_} warning(s)")
    return 1 if errors else 0
