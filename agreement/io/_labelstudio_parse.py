"""Label Studio tasks -> per-annotator images, findings and shapes (the parsing half of
:mod:`.labelstudio`): :func:`parse_export` reads the tasks one at a time, a :class:`Shaper`
makes each task's regions shapes as they are read."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._checks import exact_int, short
from ..errors import AnnotationError, FormatError
from ..findings import Finding
from ..model import Categories, ImageInfo
from ._limits import Limits, check_image_size
from ._lsrle import Bitmask, bitmask_png, brush_geometry
from ._shapes import Polygons, Shape, check_polygon
from ._toolref import labelstudio_ref
from .layers import Order, ShapeSource, ShapeStore

__all__ = ["Shaper", "parse_export"]

_POLY = ("polygonlabels", "polygon")
_BRUSH = ("brushlabels", "brush")
_BITMASK = ("bitmasklabels", "bitmask")
_LABELS = ("polygonlabels", "brushlabels", "bitmasklabels", "labels")


@dataclass
class _Region:
    name: str
    label: str
    kind: str  # "polygon" | "brush"
    value: dict
    order: int
    closed: bool = True


@dataclass
class _Annotator:
    """What one annotator's tasks say, bar the shapes: images, labels, findings, counts."""

    name: str
    file: str
    limits: Limits
    images: dict[str, ImageInfo] = field(default_factory=dict)
    labels: set[str] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)
    cancelled: int = 0

    def to_source(self, cats: Categories, shapes: ShapeStore, found: list[Finding], *,
                  order: Order, name: str) -> ShapeSource:
        """The source: the parse findings, then ``found`` (the shapes' findings, in image
        order), then the counts."""
        findings = self.findings + found
        for kind, n in sorted(self.skipped.items()):
            findings.append(Finding.of("skipped_shape", f"{n} '{kind}' result(s) have no area; "
                                       "skipped", annotator=self.name, file=self.file))
        if self.cancelled:
            findings.append(Finding.of("cancelled_annotation", f"{self.cancelled} skipped / "
                                       "cancelled annotation(s) left out", annotator=self.name,
                                       file=self.file))
        return ShapeSource(name, cats, list(self.images.values()), shapes, annotator=self.name,
                           findings=findings, order=order, format="labelstudio", file=self.file)


class Shaper:
    """Each image's regions made shapes as they are read, into one ShapeStore per annotator.

    Called by :func:`parse_export` with each kept annotation's annotator, image (its
    ImageInfo) and regions, at the export's last reading (once its categories are known). The
    first failure of an annotator stops its shaping and is kept; :meth:`check` raises the kept
    failure of the annotator met first (``rank``), which is the failure reading the annotators
    one after another would meet first.
    """

    def __init__(self, cats: Categories, *, rank: list[str], brush_threshold: int,
                 limits: Limits) -> None:
        self.by_name = {c.name: c for c in cats.values()}
        self.rank = {who: k for k, who in enumerate(rank)}
        self.threshold, self.limits = brush_threshold, limits
        self.stores = {who: ShapeStore() for who in rank}
        self.findings: dict[str, list[Finding]] = {who: [] for who in rank}
        self.failed: tuple[int, Exception] | None = None

    def __call__(self, acc: _Annotator, info: ImageInfo, regions: list[_Region]) -> None:
        rank = self.rank[acc.name]
        if self.failed is not None and self.failed[0] <= rank:
            return  # an annotator met earlier failed: this one's failure would come later
        found: list[Finding] = []
        try:
            shapes = [s for r in regions if (s := self._shape(r, acc, info, found)) is not None]
        except Exception as exc:  # raised by check(), if no annotator met earlier fails
            self.failed = (rank, exc)
            return
        self.findings[acc.name] += found
        if shapes:
            self.stores[acc.name].add(info.file_name, shapes)

    def _shape(self, r: _Region, acc: _Annotator, info: ImageInfo,
               findings: list[Finding]) -> Shape | None:
        where = {"annotator": acc.name, "file": acc.file, "image": info.file_name,
                 "shape": r.name}
        if r.label not in self.by_name:
            findings.append(Finding.of("unknown_label", f"label {r.label!r} is not in the "
                                       "category set; shape left out", **where))
            return None
        if r.kind == "polygon":
            geom = _polygon(r, info, where, findings, self.limits)
            if geom is None:
                return None
        elif r.kind == "bitmask":
            geom = Bitmask(bitmask_png(r.value, info, where, limits=self.limits),
                           tuple(where.items()), self.limits)
        else:
            geom = brush_geometry(r.value, info, threshold=self.threshold, where=where)
        cat = self.by_name[r.label]
        return Shape(r.name, r.label, cat.id, cat.isthing, geom, order=r.order)

    def check(self) -> None:
        """Raise the failure :meth:`__call__` kept, if any."""
        if self.failed is not None:
            raise self.failed[1]


#: What :func:`parse_export` hands each kept annotation's regions to (a :class:`Shaper`).
Regions = Callable[[_Annotator, ImageInfo, list[_Region]], None]


def _polygon(r: _Region, info: ImageInfo, where: dict, findings: list,
             limits: Limits) -> Polygons | None:
    pts = r.value.get("points")
    if not isinstance(pts, list):
        raise FormatError(f"polygon value must have a 'points' list, got {short(pts)}", **where)
    if len(pts) > limits.max_vertices:
        raise AnnotationError(f"polygon must have at most {limits.max_vertices:,} vertices "
                              f"(max_vertices; {limits.hint('max_vertices')}), got "
                              f"{len(pts):,}", **where)
    if not all(isinstance(p, list) and len(p) == 2 and all(
            type(v) is float or type(v) is int for v in p) for p in pts):
        bad = next(p for p in pts if not (isinstance(p, list) and len(p) == 2 and all(
            type(v) is float or type(v) is int for v in p)))
        raise AnnotationError(f"polygon points must be [x%, y%] number pairs, got {short(bad)}",
                              **where)
    with np.errstate(over="ignore", invalid="ignore"):
        px = np.asarray(pts, dtype=np.float64).reshape(-1, 2) * (
            np.array([info.width, info.height], dtype=np.float64) / 100.0)
    if not r.closed:
        findings.append(Finding.of("open_polygon", "polygon has closed=false; read as closed",
                                   **where))
    arr, found = check_polygon(px, width=info.width, height=info.height, where=where,
                               limits=limits)
    findings += found
    return Polygons((arr,)) if arr is not None else None


def _id_key(value: Any) -> tuple[int, int, str]:
    """A sort key for ids of any JSON type (ints before strings, never comparing the two)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (0, value, "")
    return (1, 0, str(value))


def _latest(anns: list[dict]) -> tuple[dict, list[dict]]:
    ranked = sorted(anns, key=lambda a: (str(a.get("updated_at") or a.get("created_at") or ""),
                                         _id_key(a.get("id"))))
    return ranked[-1], ranked[:-1]


def parse_export(data: Iterable[dict], *, file: str, name_of: Callable[[dict, int], str],
                 annotator_of: Callable[[Any], str], include_predictions: bool,
                 limits: Limits, images: dict[int, tuple[str, tuple[int, int] | None]],
                 regions: Regions | None = None) -> dict[str, _Annotator]:
    """Group a task list's annotations by annotator: their images, labels and findings.

    Every check of the tasks is made here, in task order. Each kept annotation's area regions
    are handed to ``regions`` (with the annotator and the image) as the task is read, and
    dropped: nothing of a task is held once the next one is read. ``images`` holds each task's
    image name and size (width, height): filled by a first reading, read by the next ones.
    """
    out: dict[str, _Annotator] = {}
    for t, task in enumerate(data):
        _check_task(task, t, file)
        per: dict[str, list[dict]] = {}
        if "annotations" not in task and "result" in task:  # an ML backend's bare prediction
            per[f"prediction-{_model(task)}"] = [task]
        for ann in task.get("annotations") or []:
            if not isinstance(ann, dict):
                raise FormatError(f"task {t} annotations must be objects, got {short(ann)}",
                                  file=file)
            who = annotator_of(ann.get("completed_by"))
            cancelled = ann.get("was_cancelled")
            if cancelled not in (None, True, False):  # 0 and 1 compare equal to False / True
                raise FormatError(f"task {t} annotation 'was_cancelled' must be true or false, "
                                  f"got {short(cancelled)}", file=file)
            if cancelled:
                out.setdefault(who, _Annotator(who, file, limits)).cancelled += 1
                continue
            per.setdefault(who, []).append(ann)
        if include_predictions:
            for pred in task.get("predictions") or []:
                if isinstance(pred, dict):
                    per.setdefault(f"prediction-{_model(pred)}", []).append(pred)
        if not per:
            continue
        if t not in images:  # (the size checked once)
            image = name_of(task, t)
            images[t] = image, _task_size(per, file, image, limits)
        image, size = images[t]
        for who, anns in per.items():
            _add(out.setdefault(who, _Annotator(who, file, limits)), task, anns, image, size,
                 regions)
    return out


def _check_task(task: dict, t: int, file: str) -> None:
    """The container fields of one task: lists where lists belong, ids of a JSON id type."""
    for key in ("annotations", "predictions", "result"):
        value = task.get(key)
        if value is not None and not isinstance(value, list):
            raise FormatError(f"task {t} {key!r} must be a list, got {short(value)}", file=file)
    tid = task.get("id")
    if tid is not None:
        exact_int(tid, f"task {t} 'id'", lo=-(1 << 63), hi=(1 << 63) - 1, file=file)
    for ann in task.get("annotations") or []:
        if isinstance(ann, dict) and ann.get("result") is not None and not isinstance(
                ann["result"], list):
            raise FormatError(f"task {t} annotation 'result' must be a list, got "
                              f"{short(ann['result'])}", file=file)


def _model(item: dict) -> str:
    version = item.get("model_version")
    return version if isinstance(version, str) and version else "model"


def _task_size(per: dict[str, list[dict]], file: str, image: str,
               limits: Limits) -> tuple[int, int] | None:
    sizes = set()
    for anns in per.values():
        for ann in anns:
            for r in ann.get("result") or []:
                if isinstance(r, dict) and "original_width" in r:
                    where = {"file": file, "image": image, "shape": f"region {short(r.get('id'))}"}
                    w = exact_int(r["original_width"], "result original_width", lo=1,
                                  error=AnnotationError, **where)
                    h = exact_int(r.get("original_height"), "result original_height", lo=1,
                                  error=AnnotationError, **where)
                    check_image_size(w, h, limits, **where)
                    sizes.add((w, h))
    if len(sizes) > 1:
        raise AnnotationError(f"image size must be the same in every result of a task, got "
                              f"{sorted(sizes)} (width, height)", file=file, image=image)
    return sizes.pop() if sizes else None


def _add(acc: _Annotator, task: dict, anns: list[dict], image: str,
         size: tuple[int, int] | None, regions: Regions | None) -> None:
    where = {"annotator": acc.name, "file": acc.file, "image": image}
    ann, dropped = _latest(anns)
    if dropped:
        left_out = [a.get("id") for a in dropped]
        acc.findings.append(Finding.of("duplicate_annotation", f"{len(anns)} annotations of "
                                       f"task {task.get('id')}; kept the latest (id "
                                       f"{ann.get('id')}), left out {left_out}", **where))
    if ann.get("parent_annotation") is not None or ann.get("parent_prediction") is not None:
        src = ("annotation " + str(ann["parent_annotation"]) if ann.get("parent_annotation")
               is not None else "prediction " + str(ann["parent_prediction"]))
        acc.findings.append(Finding.of("copied_annotation", f"annotation {ann.get('id')} was "
                                       f"copied from {src}: not independent", **where))
    if "annotations" not in task and "result" in task:
        acc.findings.append(Finding.of("prediction", "a model's prediction (no task, no "
                                       "annotator) read as an annotation", **where))
    if size is None:
        acc.skipped["image without original_width/original_height"] += 1
        return
    if image in acc.images:
        raise AnnotationError("image name must map to one task per annotator, got two tasks "
                              f"(second: task {task.get('id')}); pass rename= to tell them apart",
                              **where)
    results = ann.get("result") or []
    if not isinstance(results, list):
        raise FormatError(f"annotation 'result' must be a list, got {short(results)}", **where)
    info = acc.images[image] = ImageInfo(image, size[1], size[0], task.get("id"),
                                         labelstudio_ref(task, ann))
    found = _regions(results, acc, where)
    acc.labels.update(r.label for r in found)
    if regions is not None:
        regions(acc, info, found)


def _regions(results: list, acc: _Annotator, where: dict) -> list[_Region]:
    geo: dict[Any, dict] = {}
    labels: dict[Any, list] = {}
    order: dict[Any, int] = {}
    for n, r in enumerate(results):
        if not isinstance(r, dict):
            continue
        rid, kind, value = r.get("id", f"#{n}"), r.get("type", ""), r.get("value")
        if not isinstance(rid, int | str) or isinstance(rid, bool):
            raise FormatError(f"result 'id' must be a string or an integer, got {short(rid)}",
                              shape=f"result {n}", **where)
        if not isinstance(kind, str):
            raise FormatError(f"result 'type' must be a string, got {short(kind)}",
                              shape=f"region {rid}", **where)
        if not isinstance(value, dict):
            if kind in _POLY or kind in _BRUSH or kind in _BITMASK:
                raise AnnotationError(f"{kind} result must have a 'value' object, got "
                                      f"{short(value)}", shape=f"region {rid}", **where)
            acc.skipped[kind or "untyped"] += 1
            continue
        order.setdefault(rid, n)
        for key in _LABELS:
            if value.get(key):
                names = value[key]
                if not (isinstance(names, list) and all(isinstance(x, str) for x in names)):
                    raise AnnotationError(f"{key} must be a list of label names, got "
                                          f"{short(names)}", shape=f"region {rid}", **where)
                labels.setdefault(rid, names)
        if kind in _POLY or kind in _BRUSH or kind in _BITMASK:
            geo[rid] = r
            if r.get("image_rotation"):
                acc.findings.append(Finding.of(
                    "rotated_image", f"image_rotation = {short(r['image_rotation'])}",
                    shape=f"region {rid}", **where))
        elif kind != "labels":
            acc.skipped[kind or "untyped"] += 1
    out = []
    for rid, r in geo.items():
        lab = labels.get(rid) or [""]
        kind = ("polygon" if r.get("type") in _POLY else
                "bitmask" if r.get("type") in _BITMASK else "brush")
        out.append(_Region(f"region {rid}", str(lab[0]), kind, r["value"], order[rid],
                           bool(r["value"].get("closed", True))))
    return sorted(out, key=lambda reg: reg.order)
