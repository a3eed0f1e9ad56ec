"""``agreement validate STUDY``: a readable table of findings; exit 1 when an error exists."""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import asdict

from ..findings import SEVERITIES
from ..io._files import atomic_write
from ._common import (
    Streamed,
    add_jobs_flag,
    add_output_flags,
    emit_json,
    json_to_stdout,
    n_jobs,
    note,
    open_for,
    show_progress,
    text_table,
    text_table_lines,
)
from ._scheduler import add_scheduler_flag, scheduler


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


def _print_table(findings: list, keep) -> None:
    """The findings ``keep`` accepts as a text table, printed line by line."""
    cols = ("severity", "kind", "annotator", "image", "shape", "detail")
    for line in text_table_lines(lambda: ((f.severity, f.kind, f.annotator, f.image, f.shape,
                                           f.detail[:110]) for f in findings if keep(f)), cols):
        print(line)


def run(args: argparse.Namespace) -> int:
    """Validate and print; 1 when an error-level finding exists."""
    from ..study.validation import validation_table

    stuff = [s.strip() for s in args.stuff.split(",") if s.strip()]
    study = open_for(args, args.study, compare=False, format=args.format,
                     categories=args.categories, stuff=stuff or None).study
    with scheduler(args) as executor:
        # compact (text codes), read errors first one finding at a time by every writer
        found = validation_table(study, min_area=args.min_area, max_unlabeled=args.max_unlabeled,
                                 progress=show_progress(args), n_jobs=n_jobs(args),
                                 executor=executor)
    counts = Counter((f.severity, f.kind) for f in found)
    errors = sum(n for (s, _), n in counts.items() if s == "error")
    warnings_ = sum(n for (s, _), n in counts.items() if s == "warning")
    if args.csv:
        from ..findings import findings_frame

        with atomic_write(args.csv) as tmp:
            findings_frame(found).to_csv(tmp, index=False)
        note(args, f"wrote {len(found)} findings to {args.csv}")
    if args.json is not None:
        emit_json({"study": repr(study), "annotators": list(study.annotators),
                   "images": len(study.images), "errors": errors, "warnings": warnings_,
                   "findings": Streamed(lambda: (asdict(f) for f in found))}, args.json)
    if json_to_stdout(args):
        return 1 if errors else 0
    print(repr(study))
    if not len(found):
        print("no findings")
        return 0
    order = {s: i for i, s in enumerate(SEVERITIES)}
    print("\nfindings by kind:")
    print(text_table([(s, k, n) for (s, k), n in sorted(
        counts.items(), key=lambda item: (order[item[0][0]], item[0][1]))],
        ("severity", "kind", "count")))

    def keep(f) -> bool:
        return args.all or f.severity != "info"

    listed = sum(map(keep, found))
    if listed:
        print(f"\n{listed} finding(s){'' if args.all else ' (errors and warnings)'}:")
        _print_table(found, keep)
    print(f"\n{errors} error(s), {warnings_} warning(s)")
    return 1 if errors else 0
