"""``agreement summary STUDY``: annotators, images, categories and segments of a study."""

from __future__ import annotations

import argparse

from ..io import load_study


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the sub-command."""
    p = sub.add_parser("summary", help="describe a study: annotators, images, categories, segments")
    p.add_argument("study", help="study folder (one export per annotator)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the study's summary."""
    study = load_study(args.study)
    print(repr(study))
    print(study.summary().to_string(index=False))
    missing = study.missing()
    if len(missing):
        print(f"\n{len(missing)} (image, annotator) pairs are missing:")
        print(missing.to_string(index=False))
    return 0
