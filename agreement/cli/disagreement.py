"""``agreement disagreement STUDY``: where and about what the annotators of a study disagree.

Prints the pixel-level agreement (Krippendorff's alpha, Fleiss' kappa, Cohen's kappa matrix), the
class pairs ranked by disagreement, the annotators and the worst regions. ``--out DIR`` writes the
tables as CSV (``regions.csv``, ``class_pairs.csv``, ``pair_annotators.csv``, ``annotators.csv``,
``per_class.csv``, ``pixel_per_class.csv``, ``pixel_pairs.csv``, and with ``--leave-one-out``
``leave_one_out.csv``); ``--consensus DIR`` writes the consensus of every image as COCO panoptic.
Each folder is written beside its target and swapped in in one step (all tables or none); an
existing folder must be empty or a previous output of agreement.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from ..analysis import analyse
from ..consensus import consensus
from ..io import write_coco_panoptic
from ..io._outdir import check_output_folder, output_folder
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


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the sub-command."""
    p = sub.add_parser(
        "disagreement", help="pixel kappas/alpha, ambiguous regions and class pairs of a study",
        description="Pixel-level agreement, disagreement heatmap statistics and ranked ambiguous "
                    "regions of a study folder (one sub-folder per annotator).")
    p.add_argument("study", type=Path, help="study folder (one export per annotator folder)")
    p.add_argument("--top", type=int, default=10, help="rows of each printed table")
    p.add_argument("--out", type=Path, default=None, metavar="DIR", help="write CSV tables here")
    p.add_argument("--consensus", type=Path, default=None, metavar="DIR",
                   help="write the consensus maps as COCO panoptic (DIR/consensus.json + PNGs)")
    p.add_argument("--leave-one-out", action="store_true",
                   help="also score each annotator against the consensus of the others")
    p.add_argument("--void", choices=("label", "exclude"), default="label",
                   help="void in heatmaps, regions and consensus (default: a vote of its own)")
    p.add_argument("--pixel-void", choices=("exclude", "label"), default="exclude",
                   help="void in the kappas and alpha (default: a missing value)")
    add_jobs_flag(p)
    add_output_flags(p, json_help="write what is printed (the headline numbers and the top rows "
                     "of each table) as JSON to OUT, or to stdout when OUT is omitted")
    p.set_defaults(run=run)


def _show(title: str, frame: pd.DataFrame, top: int, doc: dict | None, key: str,
          args: argparse.Namespace) -> None:
    if doc is not None:  # --json: the same rows for the JSON document
        doc[key] = frame.head(top).to_dict("records")
    if json_to_stdout(args):
        return
    print(f"\n{title}")
    print(frame.head(top).to_string(index=False, float_format=lambda v: f"{v:.3f}"))


def _kappa_table(matrix: pd.DataFrame) -> pd.DataFrame:
    """The kappa matrix with its row names as a first column (annotators may be called 'a')."""
    name = "annotator" if "annotator" not in matrix.columns else "annotator (row)"
    return matrix.rename_axis(index=None, columns=None).reset_index(names=name)


def run(args: argparse.Namespace) -> int:
    """Compute, print, write."""
    for folder in (args.out, args.consensus):
        if folder is not None:
            check_output_folder(folder)  # a wrong folder fails before the long work
    study = open_for(args, args.study).study
    # one pass over the images for the disagreement and (if asked) the leave-one-out scores
    opts = {"disagreement": {"void": args.void, "pixel_void": args.pixel_void},
            "loo": {"void": args.void}}
    parts = ("disagreement", "loo") if args.leave_one_out else ("disagreement",)
    both = analyse(study, parts=parts, options={p: opts[p] for p in parts}, n_jobs=n_jobs(args),
                   progress=show_progress(args))
    res = both.disagreement
    px = res.pixel
    doc: dict | None = None
    if args.json is not None:
        doc = {"study": repr(study), "annotators": list(study.annotators),
               "images": len(study.images), "alpha": px.alpha,
               "fleiss_kappa": px.fleiss_kappa, "pixels": px.pixels, "pixel_void": args.pixel_void}
    if not json_to_stdout(args):
        print(f"{study!r}: Krippendorff's alpha {px.alpha:.4f}, Fleiss' kappa "
              f"{px.fleiss_kappa:.4f} over {px.pixels} pixels (void: {args.pixel_void})")
    _show("Cohen's kappa per annotator pair", _kappa_table(px.kappa_matrix()), args.top, doc,
          "kappa", args)
    _show("Class pairs (most severe first)", res.class_pairs, args.top, doc, "class_pairs", args)
    _show("Annotators", res.annotators, args.top, doc, "annotators_table", args)
    cols = ["rank", "image", "kind", "class_pair", "annotators_b", "area", "bbox_x", "bbox_y",
            "bbox_w", "bbox_h", "severity"]
    _show("Regions", res.regions[cols], args.top, doc, "regions", args)
    tables = {"regions": res.regions, "class_pairs": res.class_pairs,
              "pair_annotators": res.pair_annotators, "annotators": res.annotators,
              "per_class": res.per_class, "pixel_per_class": px.to_frame(),
              "pixel_pairs": px.pairs}
    if args.leave_one_out:
        loo = both.loo
        _show("Leave-one-out PQ (each annotator vs the consensus of the others)",
              loo.per_annotator, args.top, doc, "leave_one_out", args)
        tables["leave_one_out"] = loo.per_annotator
    if args.out is not None:
        with output_folder(args.out) as folder:  # all tables or none, swapped in at once
            for name, frame in tables.items():
                frame.to_csv(folder / f"{name}.csv", index=False, errors="backslashreplace")
    if args.consensus is not None:
        made = [consensus(anns, study.categories, void=args.void, image=image)
                for image, anns in study.iter_images()]
        voids = pd.DataFrame([c.to_dict() for c in made])
        with output_folder(args.consensus) as folder:
            write_coco_panoptic([c.annotation for c in made], study.categories,
                                folder / "consensus.json")
            voids.to_csv(folder / "consensus_counts.csv", index=False,
                         errors="backslashreplace")
        line = (f"consensus of {len(made)} images written to {args.consensus / 'consensus.json'} "
                f"({int(voids.tie_pixels.sum())} tied, {int(voids.weak_pixels.sum())} weak pixels "
                "left void)")
        if json_to_stdout(args):
            note(args, line)
        else:
            print(f"\n{line}")
    if doc is not None:
        emit_json(doc, args.json)
    return 0
