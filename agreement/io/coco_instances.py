"""COCO instances JSON (object detection format with ``segmentation``) as panoptic maps.

Each annotation is one shape: a list of polygons (several parts per object) or an RLE (compressed
string or uncompressed counts, column-major over the whole image), rasterised by pycocotools.
Stuff classes given as annotations are merged into one segment per class; overlaps follow
:mod:`agreement.io.layers`. Which categories are things comes from the file's ``isthing`` when
present, else from ``categories=`` (a category file), else from ``stuff=`` (names); without any
of them every category is a thing.

CVAT / Datumaro write brush masks as ``iscrowd=1`` RLE although they are single objects. With
``iscrowd="auto"`` (default) a file whose annotations carry Datumaro's ``attributes`` dict is
recognised as such an export and its ``iscrowd=1`` RLEs are read as ordinary objects (one
``crowd_as_object`` finding says so); ``"file"`` keeps ``iscrowd`` as written, ``"never"`` drops it.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import AnnotationError, FormatError
from ..findings import Finding
from ..model import Categories, ImageInfo
from ._files import read_json
from ._shapes import (
    CocoRle,
    Polygons,
    Rename,
    Shape,
    apply_rename,
    check_polygon,
    coco_string_counts,
    resolve_categories,
)
from .layers import Order, ShapeSource

__all__ = ["read_coco_instances"]


def _field(entry: Any, key: str, kind: type | tuple[type, ...], what: str, **where: Any) -> Any:
    if not isinstance(entry, dict) or key not in entry:
        raise FormatError(f"{what} must have a {key!r} field, got {str(entry)[:80]}", **where)
    value = entry[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise FormatError(f"{what} field {key!r} must be {kind}, got {value!r}", **where)
    return value


def read_coco_instances(
    json_path: str | os.PathLike[str],
    *,
    categories: Categories | str | os.PathLike[str] | None = None,
    stuff: tuple[str, ...] | list[str] = (),
    iscrowd: Literal["auto", "file", "never"] = "auto",
    order: Order = "file",
    annotator: str | None = None,
    rename: Rename = None,
) -> ShapeSource:
    """Read a COCO instances JSON as one annotator's panoptic source.

    Parameters
    ----------
    json_path
        The JSON file (``images``, ``annotations``, ``categories``).
    categories
        Authoritative categories (a :class:`Categories` or a COCO/category-list JSON file),
        matched to the file's categories **by name**; their ids and ``isthing`` are used.
    stuff
        Names of stuff categories (when neither the file nor ``categories`` says).
    iscrowd : {"auto", "file", "never"}
        How to read ``iscrowd`` (see the module notes on CVAT's ``iscrowd=1`` masks).
    order : {"file", "smaller_on_top"}
        Layer tie-break (see :mod:`agreement.io.layers`).
    annotator
        The annotator's name, for findings.
    rename : mapping or callable, optional
        Maps the file's image names to the names the study aligns on.

    Returns
    -------
    ShapeSource

    Raises
    ------
    FormatError
        Not JSON, missing fields, RLE counts that are not a valid run-length code.
    AnnotationError
        An RLE whose size differs from the image or whose runs do not cover it exactly, a
        polygon coordinate that is not a finite number, a duplicated image name.

    Examples
    --------
    >>> src = read_coco_instances("instances.json", stuff=["road"])  # doctest: +SKIP
    >>> src.load(src.images[0].file_name).to_frame()  # doctest: +SKIP
    """
    path = Path(json_path)
    file = str(path)
    data = read_json(path)
    if not isinstance(data, dict):
        raise FormatError(f"COCO instances JSON must be an object, got {type(data).__name__}",
                          file=file)
    for key in ("images", "annotations", "categories"):
        _field(data, key, list, "COCO instances JSON", file=file)
    file_cats = {}
    for i, c in enumerate(data["categories"]):
        cid = _field(c, "id", int, f"categories[{i}]", file=file)
        file_cats[cid] = (str(_field(c, "name", str, f"categories[{i}]", file=file)), c)
    names = [n for n, _ in file_cats.values()]
    flags = {n: bool(c["isthing"]) for n, c in file_cats.values() if "isthing" in c}
    cats = resolve_categories(names, categories=categories, stuff=stuff,
                              ids={n: cid for cid, (n, _) in file_cats.items()}, isthing=flags,
                              file=file)
    images = _images(data["images"], file, rename)
    by_id = {info.id: info for info in images}
    cvat_like = iscrowd == "auto" and any(isinstance(a, dict) and isinstance(
        a.get("attributes"), dict) for a in data["annotations"])
    shapes, findings, skipped, n_crowd_obj = _read_annotations(
        data["annotations"], file=file, file_cats=file_cats, by_name={c.name: c for c in
        cats.values()}, by_id=by_id, crowd_mode="never" if iscrowd == "never" else (
            "object" if cvat_like else "file"), annotator=annotator)
    if skipped:
        findings.append(Finding.of("skipped_shape", f"{sum(skipped.values())} annotation(s) "
                                   f"without a polygon or RLE (boxes) in {len(skipped)} image(s)",
                                   annotator=annotator, file=file))
    if n_crowd_obj:
        findings.append(Finding.of("crowd_as_object", f"{n_crowd_obj} iscrowd=1 RLE(s) of a "
                                   "CVAT/Datumaro export read as single objects",
                                   annotator=annotator, file=file))
    return ShapeSource(file, cats, images, shapes, annotator=annotator, findings=findings,
                       order=order, format="coco_instances")


def _read_annotations(anns: list, *, file: str, file_cats: dict, by_name: dict, by_id: dict,
                      crowd_mode: str, annotator: str | None
                      ) -> tuple[dict[str, list[Shape]], list[Finding], Counter[str], int]:
    findings: list[Finding] = []
    shapes: dict[str, list[Shape]] = {}
    skipped: Counter[str] = Counter()
    n_crowd_obj = 0
    for k, ann in enumerate(anns):
        what = f"annotations[{k}]"
        aid = _field(ann, "id", int, what, file=file)
        iid = _field(ann, "image_id", int, what, file=file)
        if iid not in by_id:
            raise FormatError(f"{what} image_id must be listed in 'images', got {iid}", file=file)
        info = by_id[iid]
        where = {"annotator": annotator, "file": file, "image": info.file_name,
                 "shape": f"annotation {aid}"}
        cid = _field(ann, "category_id", int, what, **where)
        name = file_cats.get(cid, (None, None))[0]
        if name is None or name not in by_name:
            findings.append(Finding.of("unknown_label", f"category {name or cid!r} is not in the "
                                       "category set; shape left out", **where))
            continue
        geom, found = _geometry(ann.get("segmentation"), info, where)
        findings += found
        if geom is None:
            skipped[info.file_name] += 1
            continue
        crowd = bool(ann.get("iscrowd", 0)) and crowd_mode != "never"
        if crowd and crowd_mode == "object" and isinstance(geom, CocoRle):
            crowd, n_crowd_obj = False, n_crowd_obj + 1
        cat = by_name[name]
        shapes.setdefault(info.file_name, []).append(Shape(
            f"annotation {aid}", name, cat.id, cat.isthing, geom, order=k, iscrowd=crowd,
            segment_id=aid))
    return shapes, findings, skipped, n_crowd_obj


def _images(entries: list, file: str, rename: Rename) -> list[ImageInfo]:
    out, seen = [], set()
    for i, e in enumerate(entries):
        what = f"images[{i}]"
        iid = _field(e, "id", int, what, file=file)
        name = apply_rename(_field(e, "file_name", str, what, file=file), rename)
        h = _field(e, "height", int, what, file=file, image=name)
        w = _field(e, "width", int, what, file=file, image=name)
        if h <= 0 or w <= 0:
            raise AnnotationError(f"image size must be positive, got {w}x{h}", file=file,
                                  image=name)
        if name in seen:
            raise AnnotationError(
                "image file name must appear once, got it twice (Label Studio's COCO export "
                "repeats an image per annotation: use its JSON export)", file=file, image=name)
        seen.add(name)
        out.append(ImageInfo(name, h, w, iid))
    if len({o.id for o in out}) != len(out):
        raise FormatError("image ids must be unique, got duplicates", file=file)
    return out


def _geometry(seg: Any, info: ImageInfo, where: dict) -> tuple[Any, list[Finding]]:
    if isinstance(seg, dict):
        return _rle(seg, info, where), []
    if not isinstance(seg, list) or not seg:
        return None, []
    parts, findings = [], []
    for p in seg:
        if not isinstance(p, list):
            raise AnnotationError(f"polygon must be a list of numbers, got {str(p)[:60]}", **where)
        pts, found = check_polygon(p, width=info.width, height=info.height, where=where)
        findings += found
        if pts is not None:
            parts.append(pts)
    return (Polygons(tuple(parts)) if parts else None), findings


def _rle(seg: dict, info: ImageInfo, where: dict) -> CocoRle:
    size, counts = seg.get("size"), seg.get("counts")
    if size is None or counts is None:
        raise FormatError(f"RLE must have 'size' and 'counts', got keys {sorted(seg)}", **where)
    if list(size) != [info.height, info.width]:
        raise AnnotationError(f"RLE size must equal the image size [{info.height}, {info.width}] "
                              f"(height, width), got {list(size)}", **where)
    try:
        runs = (np.asarray(counts, dtype=np.int64) if isinstance(counts, list)
                else coco_string_counts(counts))
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        raise FormatError(f"RLE counts must be a list of integers or a COCO string, got an error: "
                          f"{exc}", **where) from None
    total = info.height * info.width
    if runs.size and runs.min() < 0:
        raise FormatError(f"RLE counts must be >= 0, got {int(runs.min())}", **where)
    if int(runs.sum()) != total:
        longer = "longer" if runs.sum() > total else "shorter"
        raise AnnotationError(f"RLE runs must cover the {info.width}x{info.height} image exactly "
                              f"({total} px), got {int(runs.sum())} px ({longer})", **where)
    return CocoRle({"size": [info.height, info.width], "counts": counts})
