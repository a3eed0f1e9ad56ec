"""``agreement disagreement STUDY``: where and about what the annotators of a study disagree.

Prints the pixel-level agreement (Krippendorff's alpha, Fleiss' kappa, Cohen's kappa matrix), the
class pairs ranked by disagreement, the annotators and the worst regions. ``--out DIR`` writes the
tables as CSV (``regions.csv``, ``class_pairs.csv``, ``pair_annotators.csv``, ``annotators.csv``,
``per_class.csv``, ``pixel_per_class.csv``, ``pixel_pairs.csv``, and with ``--leave-one-out``
``leave_one_out.csv``); ``--consensus DIR`` writes the consensus of every image as COCO panoptic.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from ..io import load_study
from ..io._files import atomic_write
from ..study.consensus_maps import ConsensusMapsPart
from ..study.disputes import DisputesPart
from ..study.loo import LooPart
from ..study.runner import run as run_pass
from ._scheduler import add_scheduler_flag, scheduler


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
    p.add_argument("-j", "--n-jobs", type=int, default=1, help="worker processes (-1: all CPUs)")
    p.add_argument("--progress", action="store_true", help="show a progress bar")
    add_scheduler_flag(p)
    p.set_defaults(run=run)


def _show(title: str, frame: pd.DataFrame, top: int) -> None:
    print(f"\n{title}")
    print(frame.head(top).to_string(index=False, float_format=lambda v: f"{v:.3f}"))


def run(args: argparse.Namespace) -> int:
    """Compute, print, write."""
    study = load_study(args.study)
    # one pass over the images: the disagreement, the leave-one-out scores and the consensus
    # maps (written as they are made) when asked for
    parts: list = [DisputesPart(void=args.void, pixel_void=args.pixel_void)]
    if args.leave_one_out:
        parts.append(LooPart(void=args.void))
    if args.consensus is not None:
        parts.append(ConsensusMapsPart(study.categories, str(args.consensus / "consensus.json"),
                                       void=args.void))
    with scheduler(args) as executor:
        results = run_pass(study, parts, n_jobs=args.n_jobs, progress=args.progress,
                           executor=executor, desc="disagreement")
    res = results[0]
    px = res.pixel
    print(f"{study!r}: Krippendorff's alpha {px.alpha:.4f}, Fleiss' kappa {px.fleiss_kappa:.4f} "
          f"over {px.pixels} pixels (void: {args.pixel_void})")
    _show("Cohen's kappa per annotator pair", px.kappa_matrix().reset_index(), args.top)
    _show("Class pairs (most severe first)", res.class_pairs, args.top)
    _show("Annotators", res.annotators, args.top)
    cols = ["rank", "image", "kind", "class_pair", "annotators_b", "area", "bbox_x", "bbox_y",
            "bbox_w", "bbox_h", "severity"]
    _show("Regions", res.regions[cols], args.top)
    tables = {"regions": res.regions, "class_pairs": res.class_pairs,
              "pair_annotators": res.pair_annotators, "annotators": res.annotators,
              "per_class": res.per_class, "pixel_per_class": px.to_frame(),
              "pixel_pairs": px.pairs}
    if args.leave_one_out:
        loo = results[1]
        _show("Leave-one-out PQ (each annotator vs the consensus of the others)",
              loo.per_annotator, args.top)
        tables["leave_one_out"] = loo.per_annotator
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        for name, frame in tables.items():
            with atomic_write(args.out / f"{name}.csv") as tmp:
                frame.to_csv(tmp, index=False)
    if args.consensus is not None:
        voids = results[-1]
        with atomic_write(args.consensus / "consensus_counts.csv") as tmp:
            voids.to_csv(tmp, index=False)
        print(f"\nconsensus of {len(voids)} images written to "
              f"{args.consensus / 'consensus.json'} ({int(voids.tie_pixels.sum())} tied, "
              f"{int(voids.weak_pixels.sum())} weak pixels left void)")
    return 0
