"""``agreement pq REF.json OTHER.json``: PQ, Boundary PQ and boundary IoU of two COCO panoptic
exports.

REF plays the reference role of the COCO panoptic evaluation (its void and crowd regions are
special, its categories are used); images are paired by ``image_id`` as in panopticapi. Prints a
table and, with ``--json``, writes::

    {"All": {"pq", "sq", "rq", "n"}, "Things": {...}, "Stuff": {...},
     "per_class": {"<id>": {"name", "isthing", "pq", "sq", "rq", "tp", "fp", "fn", "iou_sum"}},
     "boundary": {"All": {"pq", "sq", "rq", "n", "mean_boundary_iou"}, "Things", "Stuff",
                  "per_class": {"<id>": {"pq", ..., "iou_sum", "mean_boundary_iou"}}}}
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from ..errors import AnnotationError
from ..io.coco_panoptic import read_coco_panoptic
from ..metrics.counts import GROUPS
from ..metrics.pq import PQResult
from ..model import ImageInfo, Study, image_key, merge_categories
from ..study.pq import evaluate
from ._common import (
    THREADED_JOBS,
    add_jobs_flag,
    add_output_flags,
    emit_json,
    json_to_stdout,
    n_jobs,
    note,
    show_progress,
)
from ._scheduler import add_scheduler_flag, scheduler


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the sub-command."""
    p = sub.add_parser(
        "pq", help="panoptic quality, Boundary PQ and boundary IoU of OTHER against REF",
        description="Panoptic quality of OTHER with REF in the reference role (COCO panoptic "
                    "semantics: REF's void and crowd are special). Images are paired by "
                    "image_id (--align file_name: by file name). PNG folders default to the "
                    "JSON path without .json, else a png/ folder beside the JSON.")
    p.add_argument("ref", type=Path, help="reference COCO panoptic JSON")
    p.add_argument("other", type=Path, help="other annotator's COCO panoptic JSON")
    p.add_argument("--ref-png-dir", type=Path, default=None, help="PNG folder of REF")
    p.add_argument("--other-png-dir", type=Path, default=None, help="PNG folder of OTHER")
    p.add_argument("--align", choices=("image_id", "file_name"), default="image_id",
                   help="pair the images by image_id (default, as panopticapi) or by file name "
                        "(base name without folders; for exports numbered differently)")
    p.add_argument("--missing", choices=("error", "skip"), default="error",
                   help="an image of REF that OTHER lacks: an error (default, as panopticapi) "
                        "or left out of the evaluation (a note on stderr says how many)")
    p.add_argument("--no-boundary", action="store_true",
                   help="skip boundary IoU and Boundary PQ (no 'boundary' section)")
    p.add_argument("--per-class", action="store_true", help="also print the per-class table")
    add_jobs_flag(p, default=THREADED_JOBS)
    add_output_flags(p, json_help="write the results as JSON to OUT (fractions; undefined "
                     "values as null), or to stdout instead of the table when OUT is omitted")
    add_scheduler_flag(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate, print the table, write the JSON."""
    ref = read_coco_panoptic(args.ref, args.ref_png_dir)
    other = read_coco_panoptic(args.other, args.other_png_dir)
    merge_categories({"ref": ref, "other": other})  # an id defined twice differently: an error
    study = Study({"ref": ref, "other": other}, align=args.align, categories=ref.categories)
    def key(info: ImageInfo) -> str:
        return image_key(info) if args.align == "file_name" else str(info.id)

    order = [key(i) for i in ref.images]  # the reference's summation order
    theirs = {key(i) for i in other.images}
    missing = [i.file_name for i, k in zip(ref.images, order, strict=True) if k not in theirs]
    if missing and (args.missing == "error" or len(missing) == len(order)):
        hint = (" (the exports number their images differently? --align file_name pairs them "
                "by file name)" if args.align == "image_id" else
                "; --missing skip evaluates the others" if len(missing) < len(order) else "")
        raise AnnotationError(f"OTHER must annotate every image of REF, got {len(missing)} of "
                              f"{len(order)} missing (by {args.align}), e.g. {missing[:3]}{hint}",
                              file=args.other)
    if missing:
        order = [k for k in order if k in theirs]
        note(args, f"note: {len(missing)} of REF's {len(order) + len(missing)} images left out: "
             f"OTHER lacks them (--missing skip), e.g. {missing[:3]}")
    with scheduler(args) as executor:
        result = evaluate(study, images=order, n_jobs=n_jobs(args), progress=show_progress(args),
                          boundary=not args.no_boundary, segments=False, diagnoses=False,
                          per_image=False, executor=executor)
    unknown = sorted(result.used_category_ids() - set(ref.categories))
    if unknown:
        raise AnnotationError(f"categories used by OTHER must be among REF's categories, got "
                              f"{unknown}", file=args.other)
    pq = result.pq("ref", "other")
    if args.json is not None:
        emit_json(pq.to_dict(), args.json)
    if json_to_stdout(args):
        return 0
    print(f"{args.other} against {args.ref} (reference), {len(order)} images")
    print(format_table(pq))
    if args.per_class:
        print()
        print(format_per_class(pq))
    return 0


def _pct(value: float) -> str:
    return "   -" if value is None or math.isnan(value) else f"{100 * value:5.1f}"


def format_table(result: PQResult) -> str:
    """The summary as a fixed-width table (percent), panopticapi style plus boundary columns."""
    head = f"{'':8}|{'PQ':>6}{'SQ':>6}{'RQ':>6}{'N':>5}"
    if result.has_boundary:
        head += f" |{'BPQ':>6}{'BSQ':>6}{'BRQ':>6}{'mBIoU':>7}"
    lines = [head, "-" * len(head)]
    for group in GROUPS:
        row = result.values[group]
        line = (f"{group:8}|{_pct(row['pq']):>6}{_pct(row['sq']):>6}{_pct(row['rq']):>6}"
                f"{int(row['n']):5d}")
        if result.has_boundary:
            line += (f" |{_pct(row['boundary_pq']):>6}{_pct(row['boundary_sq']):>6}"
                     f"{_pct(row['boundary_rq']):>6}{_pct(row['mean_boundary_iou']):>7}")
        lines.append(line)
    legend = ("In percent. PQ = SQ x RQ: SQ, mean IoU of the matched segments (IoU > 0.5); RQ, "
              "their F1 (matched against unmatched); N, classes present")
    if result.has_boundary:
        legend += ("; BPQ, BSQ, BRQ: the same, each pair scored min(IoU, boundary IoU: the IoU "
                   "of the segments' border bands); mBIoU, mean boundary IoU of the PQ matches")
    lines.append(legend + ". docs/metrics.md has the definitions.")
    return "\n".join(lines)


def format_per_class(result: PQResult) -> str:
    """The classes that occur, one line each: percentages and counts."""
    pc = result.columns
    titles = {"pq": "PQ", "sq": "SQ", "rq": "RQ", "boundary_pq": "BPQ",
              "mean_boundary_iou": "mBIoU"}
    cols = list(titles) if result.has_boundary else ["pq", "sq", "rq"]
    head = f"{'id':>5} {'name':20}" + "".join(f"{titles[c]:>7}" for c in cols)
    lines = [head + f"{'TP':>6}{'FP':>6}{'FN':>6}"]
    for i in range(len(pc["category_id"])):
        if not pc["counted"][i]:
            continue
        line = f"{int(pc['category_id'][i]):>5} {pc['name'][i][:20]:20}"
        line += "".join(f"{_pct(float(pc[c][i])):>7}" for c in cols)
        lines.append(line + f"{int(pc['tp'][i]):>6}{int(pc['fp'][i]):>6}{int(pc['fn'][i]):>6}")
    return "\n".join(lines)
