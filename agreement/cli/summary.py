"""``agreement summary STUDY``: what a study holds and where it came from.

Lists what the study path held (the annotator entries taken with their format, the category
file, the photos, the companions not read, the entries skipped and why), then the annotators,
images, categories and segments, the missing (image, annotator) pairs, and whether the study has
anything to compare (the check every comparing command makes before any long work).
"""

from __future__ import annotations

import argparse

from ..errors import StudyError
from ..io.discovery import shown
from ._common import add_output_flags, emit_json, json_to_stdout, open_for


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the sub-command."""
    p = sub.add_parser("summary", help="describe a study: what was taken and skipped, "
                                       "annotators, images, categories, segments",
                       description="Describe a study: the entries of the study folder taken as "
                                   "annotators and those skipped, then annotators, images, "
                                   "categories, segments per annotator, missing images.")
    p.add_argument(
        "study",
        help="study folder (one export per annotator), study file or multi-annotator export",
    )
    add_output_flags(p)
    p.set_defaults(run=run)


def _comparable(study) -> str | None:
    try:
        study.check_comparable()
    except StudyError as exc:
        return str(exc)
    return None


def run(args: argparse.Namespace) -> int:
    """Print the study's summary."""
    opened = open_for(args, args.study, compare=False)
    study, found = opened.study, opened.discovery
    missing = study.missing()
    problem = _comparable(study)
    rows = found.rows() if found is not None else []
    if opened.images_dir is not None and all(r["role"] != "photos" for r in rows):
        rows.append({"entry": shown(opened.images_dir), "role": "photos", "format": None,
                     "detail": "beside the study"})
    if args.json:
        emit_json(
            {
                "annotators": list(study.annotators),
                "images": len(study.images),
                "categories": len(study.categories),
                "per_annotator": study.summary().to_dict("records"),
                "missing": missing.to_dict("records"),
                "entries": rows,
                "comparable": problem is None,
                "nothing_to_compare": problem,
            },
            args.json,
        )
        if json_to_stdout(args):
            return 0
    cats = study.categories
    print(repr(study))
    for label, ids in (("things", cats.thing_ids), ("stuff", cats.stuff_ids)):
        print(f"{label} ({len(ids)}): {', '.join(cats.name(i) for i in ids) or '-'}")
    print()
    print(study.summary().to_string(index=False))
    if rows:
        print(f"\nwhat {shown(found.root)} holds:")
        width = max(len(r["entry"]) for r in rows)
        for r in rows:
            detail = ", ".join(str(r[k]) for k in ("detail", "format") if r[k])
            print(f"  {r['role']:<11} {r['entry']:<{width}}  {detail}".rstrip())
    if len(missing):
        pairs = "pair is" if len(missing) == 1 else "pairs are"
        print(f"\n{len(missing)} (image, annotator) {pairs} missing:")
        print(missing.to_string(index=False))
    print(f"\n{problem}" if problem else "\nready to compare: two or more annotators share an "
          "image and there are segments to compare")
    return 0
