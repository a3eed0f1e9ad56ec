"""``agreement consensus STUDY --out DIR``: the consensus of a study, as a file the annotation tool
imports, with the per-pixel votes beside it.

One pass over the images (:func:`agreement.study.consensus_maps.export_consensus`): each image's
consensus (pixel majority with instance grouping) and its vote layer are made where the image is
read and written into ``DIR`` as they arrive (all or nothing: the folder is swapped in whole at
the end). ``--format`` chooses the export: COCO panoptic (``panoptic.json`` + PNGs), CVAT for
images 1.1 (``annotations.xml``, masks) or Label Studio (``tasks.json``, brushes). Prints the
path of the export file (``--json``: a summary document instead).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..errors import AgreementError
from ..io.consensus_export import CONSENSUS_FORMATS
from ..io.consensus_export import MARKER as CONSENSUS_MARKER
from ._common import (
    STUDY_HELP,
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


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be a share in [0, 1) (0.5: a strict majority; 0: "
                                         f"any untied plurality), got {text!r}")
    return value


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the sub-command."""
    p = sub.add_parser(
        "consensus",
        help="write the consensus of a study as COCO panoptic, CVAT or Label Studio, with its "
             "per-pixel votes",
        description="The consensus annotation of every image of STUDY (pixel majority with "
                    "instance grouping; ties and weak majorities left void) written as a file "
                    "the annotation tool imports, with one vote PNG per image beside it.")
    p.add_argument("study", help=STUDY_HELP)
    p.add_argument("-o", "--out", required=True, type=Path, metavar="DIR",
                   help="output folder (created; a previous consensus export there is replaced)")
    p.add_argument("--format", choices=sorted(CONSENSUS_FORMATS), default="coco-panoptic",
                   help="coco-panoptic (panoptic.json + PNGs, default), cvat (CVAT for images "
                   "1.1 XML with masks) or label-studio (JSON tasks with brushes)")
    p.add_argument("--min-share", type=_share, default=0.5, metavar="S",
                   help="the winning category needs more than this share of the votes, else "
                   "the pixel is void (default 0.5: a strict majority; 0: any untied plurality)")
    p.add_argument("--void", choices=("label", "exclude"), default="label",
                   help="leaving a pixel unlabelled is a vote for void (label, default) or no "
                   "vote (exclude)")
    p.add_argument("--image-url", default=None, metavar="PREFIX",
                   help="label-studio: put PREFIX before each image's file name in the tasks "
                   "(e.g. /data/local-files/?d=images/); default: the task's image when the "
                   "study came from Label Studio, else the file name")
    p.add_argument("--as-predictions", action="store_true",
                   help="label-studio: import the consensus as a prediction to review instead "
                   "of an annotation")
    add_jobs_flag(p)
    add_scheduler_flag(p)
    add_output_flags(p, json_help="write a summary (images, pixels without a majority, "
                     "paths) as JSON to OUT, or to stdout instead of the export's path when OUT "
                     "is omitted")
    p.set_defaults(run=run)


def _writer_options(args: argparse.Namespace) -> dict:
    given = [flag for flag, value in (("--image-url", args.image_url),
                                      ("--as-predictions", args.as_predictions)) if value]
    if given and args.format != "label-studio":
        raise AgreementError(f"{' and '.join(given)} must go with --format label-studio, got "
                             f"--format {args.format}")
    if args.format != "label-studio":
        return {}
    out: dict = {"as_predictions": args.as_predictions}
    if args.image_url is not None:
        out["image_url"] = args.image_url
    return out


def run(args: argparse.Namespace) -> int:
    """Export the consensus; exit 0 when written."""
    from ..io._outdir import MARKER as OUTPUT_MARKER
    from ..io._outdir import check_output_folder
    from ..study.consensus_maps import export_consensus

    start = time.perf_counter()
    options = _writer_options(args)
    check_output_folder(args.out, markers=(CONSENSUS_MARKER, OUTPUT_MARKER),
                        previous="a previous consensus export")  # before the long work
    opened = open_for(args, args.study)
    study = opened.study
    note(args, f"{study!r}")
    with scheduler(args) as executor:
        export = export_consensus(study, args.out, format=args.format, min_share=args.min_share,
                                  void=args.void, n_jobs=n_jobs(args),
                                  progress=show_progress(args), executor=executor,
                                  options=options)
    counts = export.counts
    elapsed = time.perf_counter() - start
    tie, weak = int(counts["tie_pixels"].sum()), int(counts["weak_pixels"].sum())
    mean = counts["mean_agreement"].mean()
    if args.json is not None:
        emit_json({
            "study": opened.name, "annotators": list(study.annotators),
            "images": len(counts), "format": args.format, "out": str(args.out),
            "export": str(export.export), "votes": str(args.out / "votes"),
            "min_share": args.min_share, "void": args.void,
            "segments": int(counts["segments"].sum()),
            "no_majority_pixels": int(counts["no_majority_pixels"].sum()),
            "tie_pixels": tie, "weak_pixels": weak, "mean_agreement": mean,
            "seconds": round(elapsed, 2)}, args.json)
    if not json_to_stdout(args):
        note(args, f"consensus of {len(counts)} images written in {elapsed:.1f} s: {tie + weak} "
                   f"pixels left void for lack of a majority ({tie} tied, {weak} weak); how to "
                   f"import it: {args.out / 'README.md'}")
        print(export.export)
    return 0
