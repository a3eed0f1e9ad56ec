"""``agreement summary STUDY``: annotators, images, categories and segments of a study."""

from __future__ import annotations

import argparse

from ..io import load_study
from ._common import add_output_flags, emit_json, json_to_stdout


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the sub-command."""
    p = sub.add_parser("summary", help="describe a study: annotators, images, categories, segments",
                       description="Describe a study without decoding any map: annotators, "
                                   "images, categories, segments per annotator, missing images.")
    p.add_argument(
        "study",
        help="study folder (one export per annotator), study file or multi-annotator export",
    )
    add_output_flags(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the study's summary."""
    study = load_study(args.study)
    missing = study.missing()
    if args.json:
        emit_json(
            {
                "annotators": list(study.annotators),
                "images": len(study.images),
                "categories": len(study.categories),
                "per_annotator": study.summary().to_dict("records"),
                "missing": missing.to_dict("records"),
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
    if len(missing):
        pairs = "pair is" if len(missing) == 1 else "pairs are"
        print(f"\n{len(missing)} (image, annotator) {pairs} missing:")
        print(missing.to_string(index=False))
    return 0
