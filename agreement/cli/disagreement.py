"""``agreement disagreement STUDY``: where and about what the annotators of a study disagree.

Prints the pixel-level agreement (Krippendorff's alpha, Fleiss' kappa, Cohen's kappa matrix), the
class pairs ranked by disagreement, the annotators and the worst regions. ``--out DIR`` writes the
tables as CSV (``regions.csv``, ``class_pairs.csv``, ``pair_annotators.csv``, ``annotators.csv``,
``per_class.csv``, ``pixel_per_class.csv``, ``pixel_pairs.csv``, and with ``--leave-one-out``
``leave_one_out.csv``) and, with ``--figures``, the heatmap pictures of the report as PNG files in
``DIR/figures/`` (the images with most disagreement, the mean per position of the frame, where
the top class pairs are disputed); ``--consensus DIR`` writes the consensus of every image as
COCO panoptic with its vote PNGs, in the same pass (the export of ``agreement consensus STUDY
--out DIR``). Each folder is written beside its target and swapped in in one step (all tables
and pictures or none); an existing folder must be empty or a previous output of agreement.
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import AgreementError
from ._common import (
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

if TYPE_CHECKING:  # the parts (scipy, pandas) are imported when the command runs
    import pandas as pd


#: How the pixel kappas and alpha treat void (``--pixel-void``), as printed.
_VOID = {"exclude": "void pixels left out, a missing value", "label": "void counted as a class"}

def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the sub-command."""
    p = sub.add_parser(
        "disagreement", help="pixel kappas/alpha, ambiguous regions and class pairs of a study",
        description="Pixel-level agreement, disagreement heatmap statistics and ranked ambiguous "
                    "regions of a study folder (one sub-folder per annotator).")
    p.add_argument("study", type=Path, help="study folder (one export per annotator folder)")
    p.add_argument("--top", type=count, default=10, metavar="N",
                   help="rows of each printed table (default 10)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR", help="write CSV tables here")
    p.add_argument("--figures", action="store_true",
                   help="also write the heatmap pictures (PNG) into DIR/figures/: the images "
                   "with most disagreement, the mean per position of the frame, where the top "
                   "class pairs are disputed (needs --out)")
    p.add_argument("--images", type=Path, default=None, metavar="DIR",
                   help="folder of the photos under the --figures heatmaps (default: the study "
                   "file's images_dir, else an images/ folder in or beside the study)")
    p.add_argument("--consensus", type=Path, default=None, metavar="DIR",
                   help="also write the consensus as COCO panoptic with its votes, in the same "
                   "pass (DIR/panoptic.json + PNGs, votes/; as `agreement consensus`, which "
                   "writes CVAT and Label Studio too)")
    p.add_argument("--leave-one-out", action="store_true",
                   help="also score each annotator against the consensus of the others")
    p.add_argument("--void", choices=("label", "exclude"), default="label",
                   help="void in heatmaps, regions and consensus (default: a vote of its own)")
    p.add_argument("--pixel-void", choices=("exclude", "label"), default="exclude",
                   help="void in the kappas and alpha (default: a missing value)")
    add_jobs_flag(p)
    add_output_flags(p, json_help="write what is printed (the headline numbers and the top rows "
                     "of each table) as JSON to OUT, or to stdout when OUT is omitted")
    add_scheduler_flag(p)
    p.set_defaults(run=run)


def _show(title: str, frame: pd.DataFrame, top: int, doc: dict | None, key: str,
          args: argparse.Namespace) -> None:
    if doc is not None:  # --json: the same rows for the JSON document
        doc[key] = frame.head(top).to_dict("records")
    if json_to_stdout(args):
        return
    print(f"\n{title}")
    shown = frame.head(top).map(lambda v: ", ".join(map(str, v))  # names, not a tuple's repr
                                if isinstance(v, (tuple, list)) else v)
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="–"))


def _kappa_table(matrix: pd.DataFrame) -> pd.DataFrame:
    """The kappa matrix with its row names as a first column (annotators may be called 'a')."""
    name = "annotator" if "annotator" not in matrix.columns else "annotator (row)"
    return matrix.rename_axis(index=None, columns=None).reset_index(names=name)


def run(args: argparse.Namespace) -> int:
    """Compute, print, write."""
    from ..io._outdir import MARKER as OUTPUT_MARKER
    from ..io._outdir import check_output_folder, output_folder
    from ..io.consensus_export import MARKER as CONSENSUS_MARKER
    from ..study.consensus_maps import consensus_pass
    from ..study.disputes import DisputesPart
    from ..study.loo import LooPart
    from ..study.runner import run as run_pass

    if args.figures and args.out is None:
        raise AgreementError("--figures needs --out DIR (the pictures are written into "
                             "DIR/figures/)")
    if args.out is not None:
        check_output_folder(args.out)  # a wrong folder fails before the long work
    if args.consensus is not None:
        check_output_folder(args.consensus, markers=(CONSENSUS_MARKER, OUTPUT_MARKER),
                            previous="a previous consensus export")
    opened = open_for(args, args.study, images_dir=args.images)
    study = opened.study
    # one pass over the images: the disagreement, the leave-one-out scores and, when asked
    # for, the consensus (the same export as `agreement consensus`, written as the pass makes
    # it, into a folder swapped in whole at the end)
    parts: list = [DisputesPart(void=args.void, pixel_void=args.pixel_void)]
    if args.leave_one_out:
        parts.append(LooPart(void=args.void))
    export = None
    with contextlib.ExitStack() as stack:  # each folder swapped in whole once all is written
        out_dir = stack.enter_context(output_folder(args.out)) if args.out is not None else None
        with scheduler(args) as executor:
            common = {"n_jobs": n_jobs(args), "progress": show_progress(args),
                      "executor": executor, "desc": "disagreement"}
            if args.consensus is None:
                results = run_pass(study, parts, **common)
            else:
                target = _consensus_target(args.out, out_dir, args.consensus)
                export, results = consensus_pass(study, target, parts, format="coco-panoptic",
                                                 void=args.void, **common)
        figures = (_write_figures(study, results[0], out_dir / "figures", opened.images_dir)
                   if args.figures and out_dir is not None else None)
        _print_and_write(args, study, results, out_dir, export, figures)
    return 0


def _write_figures(study, res, folder: Path, images_dir: Path | None) -> list[str]:
    """The report's heatmap pictures as ``folder/<name>.png``; their file names."""
    from ..report.figures import disagreement_figures, write_figures

    folder.mkdir()
    drawn = disagreement_figures(res, study, images_dir=images_dir)
    return [p.name for p in write_figures(drawn, folder)]


def _consensus_target(out: Path | None, out_dir: Path | None, consensus: Path) -> Path:
    """Where the consensus is written: inside ``--out``'s new folder when it lies inside
    ``--out`` (both then appear in one swap), else ``consensus`` itself (swapped in on its
    own)."""
    if out is not None and out_dir is not None:
        try:
            rel = consensus.resolve().relative_to(out.resolve())
        except ValueError:
            rel = None
        if rel is not None and not rel.parts:
            raise AgreementError(f"--consensus must be another folder than --out or one inside "
                                 f"it, got {str(consensus)!r} for both")
        if rel is not None:
            (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            return out_dir / rel
    return consensus


def _print_and_write(args: argparse.Namespace, study, results: list, out_dir: Path | None,
                     export=None, figures: list[str] | None = None) -> None:
    res = results[0]
    px = res.pixel
    doc: dict | None = None
    if args.json is not None:
        doc = {"study": repr(study), "annotators": list(study.annotators),
               "images": len(study.images), "alpha": px.alpha,
               "fleiss_kappa": px.fleiss_kappa, "pixels": px.pixels, "pixel_void": args.pixel_void}
    if not json_to_stdout(args):
        print(f"{study!r}: Krippendorff's alpha {px.alpha:.4f}, Fleiss' kappa "
              f"{px.fleiss_kappa:.4f} over {px.pixels} pixels ({_VOID[args.pixel_void]}; 1 = "
              "perfect agreement, 0 = chance)")
    _show("Cohen's kappa per annotator pair", _kappa_table(px.kappa_matrix()), args.top, doc,
          "kappa", args)
    _show("Class pairs (most severe first)", res.class_pairs, args.top, doc, "class_pairs", args)
    _show("Annotators", res.annotators, args.top, doc, "annotators_table", args)
    cols = ["rank", "image", "kind", "class_pair", "annotators_b", "area", "bbox_x", "bbox_y",
            "bbox_w", "bbox_h", "severity"]
    _show("Regions", res.regions[cols], args.top, doc, "regions", args)
    if not json_to_stdout(args):
        print("\nA region: connected pixels the annotators dispute, between class_a and "
              "class_b; annotators_b / dissenters: the minority side; severity: its pixels "
              "weighted by the share of annotators dissenting. Class pairs: regions, pixels, "
              "images and annotators (how many dissent at least once) summed over the study. "
              "docs/disagreement.md has the definitions.")
    tables = {"regions": res.regions, "class_pairs": res.class_pairs,
              "pair_annotators": res.pair_annotators, "annotators": res.annotators,
              "per_class": res.per_class, "pixel_per_class": px.to_frame(),
              "pixel_pairs": px.pairs}
    if args.leave_one_out:
        loo = results[1]
        _show("Leave-one-out PQ (each annotator vs the consensus of the others)",
              loo.per_annotator, args.top, doc, "leave_one_out", args)
        tables["leave_one_out"] = loo.per_annotator
    if out_dir is not None:
        for name, frame in tables.items():
            frame.to_csv(out_dir / f"{name}.csv", index=False, errors="backslashreplace")
    if export is not None:
        counts = export.counts
        path = args.consensus / export.export.name
        line = (f"consensus of {len(counts)} images written to {path} ("
                f"{int(counts.tie_pixels.sum())} tied, {int(counts.weak_pixels.sum())} weak "
                "pixels left void; votes in votes/)")
        if doc is not None:
            doc["consensus"] = {"out": str(args.consensus), "export": str(path),
                                "images": len(counts),
                                "no_majority_pixels": int(counts.no_majority_pixels.sum())}
        if json_to_stdout(args):
            note(args, line)
        else:
            print(f"\n{line}")
    if figures is not None:
        if doc is not None:
            doc["figures"] = [f"figures/{name}" for name in figures]
        note(args, f"{len(figures)} pictures written to {args.out / 'figures'}")
    if doc is not None:
        emit_json(doc, args.json)
