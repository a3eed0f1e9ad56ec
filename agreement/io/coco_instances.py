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
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from .._checks import exact_int, short
from ..errors import AnnotationError, FormatError
from ..findings import Finding
from ..model import Categories, ImageInfo
from ._cocorle import CocoRle, check_coco_rle
from ._files import JsonArray, read_json_object
from ._guard import reader_errors
from ._limits import Limits, check_image_size, resolve_limits
from ._polygon import outline_length
from ._shapes import (
    Polygons,
    Rename,
    Shape,
    apply_rename,
    check_polygon,
    resolve_categories,
)
from .layers import Order, ShapeSource, ShapeStore

__all__ = ["read_coco_instances"]


_ID = {"lo": -(1 << 63), "hi": (1 << 63) - 1}  # image and annotation ids: any int64


def _field(entry: Any, key: str, kind: type | tuple[type, ...], what: str, **where: Any) -> Any:
    if not isinstance(entry, dict) or key not in entry:
        raise FormatError(f"{what} must have a {key!r} field, got {short(entry)}", **where)
    value = entry[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        name = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise FormatError(f"{what} field {key!r} must be {name}, got {short(value)}", **where)
    return value


def _flag(entry: dict, key: str, what: str, **where: Any) -> bool:
    """``iscrowd`` / ``isthing``: 0 or 1 (false / true), nothing else."""
    value = entry.get(key, 0)
    if isinstance(value, float) or value not in (0, 1):
        raise FormatError(f"{what} field {key!r} must be 0 or 1, got {short(value)}", **where)
    return bool(value)


def read_coco_instances(
    json_path: str | os.PathLike[str],
    *,
    categories: Categories | str | os.PathLike[str] | None = None,
    stuff: tuple[str, ...] | list[str] = (),
    iscrowd: Literal["auto", "file", "never"] = "auto",
    order: Order = "file",
    annotator: str | None = None,
    rename: Rename = None,
    limits: Limits | None = None,
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
    limits : Limits, optional
        Largest sizes accepted (default: :meth:`Limits.from_env`).

    Returns
    -------
    ShapeSource

    Raises
    ------
    FormatError
        Not JSON, missing fields, a field of the wrong type (ids and sizes must be exact
        integers: ``1.5``, ``"2"`` are refused), RLE counts that are not a valid run-length
        code. Any other failure while reading is an ``UnexpectedInputError`` (a FormatError).
    AnnotationError
        An image size beyond ``limits``, an RLE whose size differs from the image or whose runs
        do not cover it exactly, a polygon coordinate that is not a finite number, a polygon
        beyond ``limits``, a duplicated image name.

    Examples
    --------
    >>> src = read_coco_instances("instances.json", stuff=["road"])  # doctest: +SKIP
    >>> src.load(src.images[0].file_name).to_frame()  # doctest: +SKIP
    """
    path = Path(json_path)
    file = str(path)
    limits = resolve_limits(limits)
    with reader_errors("COCO instances JSON", file=file, annotator=annotator):
        # 'annotations' decoded one entry at a time (as the COCO panoptic reader does): the
        # file's entries are never all Python objects at once
        data = read_json_object(path, lazy=("annotations",), limits=limits)
        if not isinstance(data, dict):
            raise FormatError(f"COCO instances JSON must be an object, got "
                              f"{type(data).__name__}", file=file)
        for key in ("images", "annotations", "categories"):
            if not isinstance(data.get(key), JsonArray):  # an array, read lazily
                _field(data, key, list, "COCO instances JSON", file=file)
        file_cats = _file_categories(data["categories"], file)
        names = [n for n, _ in file_cats.values()]
        flags = {n: _flag(c, "isthing", "category", file=file) for n, c in file_cats.values()
                 if "isthing" in c}
        cats = resolve_categories(names, categories=categories, stuff=stuff,
                                  ids={n: cid for cid, (n, _) in file_cats.items()},
                                  isthing=flags, file=file)
        images = _images(data["images"], file, rename, limits)
        by_id = {info.id: info for info in images}
        cvat_like = iscrowd == "auto" and any(isinstance(a, dict) and isinstance(
            a.get("attributes"), dict) for a in data["annotations"])
        shapes, findings, skipped, n_crowd_obj = _read_annotations(
            data["annotations"], file=file, file_cats=file_cats, by_name={c.name: c for c in
            cats.values()}, by_id=by_id, crowd_mode="never" if iscrowd == "never" else (
                "object" if cvat_like else "file"), annotator=annotator, limits=limits)
    if skipped:
        findings.append(Finding.of("skipped_shape", f"{sum(skipped.values())} annotation(s) "
                                   f"without a polygon or RLE (boxes) in {len(skipped)} image(s)",
                                   annotator=annotator, file=file))
    if n_crowd_obj:
        findings.append(Finding.of("crowd_as_object", f"{n_crowd_obj} iscrowd=1 RLE(s) of a "
                                   "CVAT/Datumaro export read as single objects",
                                   annotator=annotator, file=file))
    return ShapeSource(file, cats, images, shapes, annotator=annotator, findings=findings,
                       order=order, format="coco_instances", isthing_given=flags)


def _file_categories(entries: list, file: str) -> dict[int, tuple[str, dict]]:
    out: dict[int, tuple[str, dict]] = {}
    for i, c in enumerate(entries):
        what = f"categories[{i}]"
        cid = exact_int(_field(c, "id", int, what, file=file), f"{what} 'id'", lo=0,
                        hi=(1 << 31) - 1, file=file)
        if cid in out:
            raise FormatError(f"category ids must be unique, got {cid} twice", file=file)
        out[cid] = (_field(c, "name", str, what, file=file), c)
    return out


def _read_annotations(anns: Iterable[Any], *, file: str, file_cats: dict, by_name: dict,
                      by_id: dict, crowd_mode: str, annotator: str | None, limits: Limits
                      ) -> tuple[ShapeStore, list[Finding], Counter[str], int]:
    findings: list[Finding] = []
    shapes = ShapeStore()  # every image, its shapes to a temporary file a few at a time
    position = {}
    for info in by_id.values():
        position[info.file_name] = len(shapes)
        shapes.add(info.file_name)
    waiting: dict[int, list[Shape]] = {}  # image position -> shapes not yet in the store
    held = 0
    skipped: Counter[str] = Counter()
    n_crowd_obj = 0
    for k, ann in enumerate(anns):
        what = f"annotations[{k}]"
        aid = exact_int(_field(ann, "id", int, what, file=file), f"{what} 'id'", **_ID, file=file)
        iid = _field(ann, "image_id", int, what, file=file)
        if iid not in by_id:
            raise FormatError(f"{what} image_id must be listed in 'images', got {short(iid)}",
                              file=file)
        info = by_id[iid]
        where = {"annotator": annotator, "file": file, "image": info.file_name,
                 "shape": f"annotation {aid}"}
        cid = _field(ann, "category_id", int, what, **where)
        name = file_cats.get(cid, (None, None))[0]
        if name is None or name not in by_name:
            findings.append(Finding.of("unknown_label", f"category {name or cid!r} is not in the "
                                       "category set; shape left out", **where))
            continue
        geom, found = _geometry(ann.get("segmentation"), info, where, limits)
        findings += found
        if geom is None:
            skipped[info.file_name] += 1
            continue
        crowd = _flag(ann, "iscrowd", what, **where) and crowd_mode != "never"
        if crowd and crowd_mode == "object" and isinstance(geom, CocoRle):
            crowd, n_crowd_obj = False, n_crowd_obj + 1
        cat = by_name[name]
        waiting.setdefault(position[info.file_name], []).append(Shape(
            f"annotation {aid}", name, cat.id, cat.isthing, geom, order=k, iscrowd=crowd,
            segment_id=aid))
        held += 1
        if held >= _WAITING:  # each image's pieces stay in file order
            _store(shapes, waiting)
            held = 0
    _store(shapes, waiting)
    return shapes, findings, skipped, n_crowd_obj


#: Shapes read before they are written to the source's store, an image's in one piece.
_WAITING = 1024


def _store(shapes: ShapeStore, waiting: dict[int, list[Shape]]) -> None:
    for k, found in waiting.items():
        shapes.extend(k, found)
    waiting.clear()


def _images(entries: list, file: str, rename: Rename, limits: Limits) -> list[ImageInfo]:
    out, seen = [], set()
    for i, e in enumerate(entries):
        what = f"images[{i}]"
        iid = exact_int(_field(e, "id", int, what, file=file), f"{what} 'id'", **_ID, file=file)
        name = apply_rename(_field(e, "file_name", str, what, file=file), rename)
        h = _field(e, "height", int, what, file=file, image=name)
        w = _field(e, "width", int, what, file=file, image=name)
        if h <= 0 or w <= 0:
            raise AnnotationError(f"image size must be positive, got {w}x{h}", file=file,
                                  image=name)
        check_image_size(w, h, limits, file=file, image=name)
        if name in seen:
            raise AnnotationError(
                "image file name must appear once, got it twice (Label Studio's COCO export "
                "repeats an image per annotation: use its JSON export)", file=file, image=name)
        seen.add(name)
        out.append(ImageInfo(name, h, w, iid))
    if len({o.id for o in out}) != len(out):
        raise FormatError("image ids must be unique, got duplicates", file=file)
    return out


def _geometry(seg: Any, info: ImageInfo, where: dict, limits: Limits
              ) -> tuple[Any, list[Finding]]:
    if isinstance(seg, dict):
        return check_coco_rle(seg, height=info.height, width=info.width, where=where), []
    if not isinstance(seg, list) or not seg:
        return None, []
    if not all(isinstance(p, list) for p in seg):
        bad = next(p for p in seg if not isinstance(p, list))
        raise AnnotationError(f"polygon must be a list of numbers, got {short(bad)}", **where)
    vertices = sum(len(p) for p in seg) // 2
    if vertices > limits.max_vertices:
        raise AnnotationError(f"polygon must have at most {limits.max_vertices:,} vertices "
                              f"(max_vertices; {limits.hint('max_vertices')}), got "
                              f"{vertices:,} in {len(seg)} part(s)", **where)
    parts, findings = [], []
    for p in seg:
        pts, found = check_polygon(p, width=info.width, height=info.height, where=where,
                                   limits=limits)
        findings += found
        if pts is not None:
            parts.append(pts)
    length = sum(outline_length(p) for p in parts)
    if length > limits.max_outline:
        raise AnnotationError(f"polygon outline must be at most {limits.max_outline:,} px long "
                              f"inside the image's margin (max_outline; "
                              f"{limits.hint('max_outline')}), got {length:,.0f} px in "
                              f"{len(parts)} part(s)", **where)
    return (Polygons(tuple(parts)) if parts else None), findings
