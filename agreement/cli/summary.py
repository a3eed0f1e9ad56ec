"""``agreement summary STUDY``: annotators, images, categories and segments of a study."""

from __future__ import annotations

import argparse

from ..io import load_study
from ._common import add_output_flags, emit_json, json_to_stdout


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the sub-command."""
    p = sub.add_parser("summary", help="describe a study: annotators, images, categories, segments")
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
    print(repr(study))
    print(study.summary().to_string(index=False))
    if len(missing):
        print(f"\n{len(missing)} (image, annotator) pairs are missing:")
        print(missing.to_string(index=False))
    return 0
