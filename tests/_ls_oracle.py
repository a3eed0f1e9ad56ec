"""The Label Studio reader as it was before it streamed the export (a test oracle): the whole
file decoded at once, every task's regions held, then made shapes annotator by annotator.

:func:`read_whole` must give the same sources (images, shapes, findings, in the same order) and
the same first error as :func:`agreement.io.labelstudio.read_labelstudio_sources`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from agreement._checks import short
from agreement.errors import AnnotationError, FormatError
from agreement.findings import Finding
from agreement.io._files import read_json
from agreement.io._guard import reader_errors
from agreement.io._labelstudio_parse import (
    _check_task,
    _latest,
    _model,
    _polygon,
    _regions,
    _task_size,
)
from agreement.io._limits import Limits, resolve_limits
from agreement.io._lsrle import Bitmask, bitmask_png, brush_geometry
from agreement.io._shapes import Shape, resolve_categories
from agreement.io._toolref import labelstudio_ref
from agreement.io.labelstudio import _annotator, _task_image, _user_id
from agreement.io.layers import ShapeSource
from agreement.model import ImageInfo


@dataclass
class _Annotator:
    name: str
    file: str
    limits: Limits
    images: dict = field(default_factory=dict)
    regions: dict = field(default_factory=dict)
    findings: list = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)
    cancelled: int = 0

    def to_source(self, cats, *, brush_threshold, order, name):
        by_name = {c.name: c for c in cats.values()}
        findings = list(self.findings)
        shapes = {}
        for image, regions in self.regions.items():
            info = self.images[image]
            for r in regions:
                where = {"annotator": self.name, "file": self.file, "image": image,
                         "shape": r.name}
                if r.label not in by_name:
                    findings.append(Finding.of("unknown_label", f"label {r.label!r} is not in the "
                                               "category set; shape left out", **where))
                    continue
                if r.kind == "polygon":
                    geom = _polygon(r, info, where, findings, self.limits)
                    if geom is None:
                        continue
                elif r.kind == "bitmask":
                    geom = Bitmask(bitmask_png(r.value, info, where, limits=self.limits),
                                   tuple(where.items()), self.limits)
                else:
                    geom = brush_geometry(r.value, info, threshold=brush_threshold, where=where)
                cat = by_name[r.label]
                shapes.setdefault(image, []).append(Shape(
                    r.name, r.label, cat.id, cat.isthing, geom, order=r.order))
        for kind, n in sorted(self.skipped.items()):
            findings.append(Finding.of("skipped_shape", f"{n} '{kind}' result(s) have no area; "
                                       "skipped", annotator=self.name, file=self.file))
        if self.cancelled:
            findings.append(Finding.of("cancelled_annotation", f"{self.cancelled} skipped / "
                                       "cancelled annotation(s) left out", annotator=self.name,
                                       file=self.file))
        return ShapeSource(name, cats, list(self.images.values()), shapes, annotator=self.name,
                           findings=findings, order=order, format="labelstudio", file=self.file)


def _parse_export(data, *, file, name_of, annotator_of, include_predictions, limits):
    out = {}
    for t, task in enumerate(data):
        _check_task(task, t, file)
        per = {}
        if "annotations" not in task and "result" in task:
            per[f"prediction-{_model(task)}"] = [task]
        for ann in task.get("annotations") or []:
            if not isinstance(ann, dict):
                raise FormatError(f"task {t} annotations must be objects, got {short(ann)}",
                                  file=file)
            who = annotator_of(ann.get("completed_by"))
            cancelled = ann.get("was_cancelled")
            if cancelled not in (None, True, False):
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
        image = name_of(task, t)
        size = _task_size(per, file, image, limits)
        for who, anns in per.items():
            _add(out.setdefault(who, _Annotator(who, file, limits)), task, anns, image, size)
    return out


def _add(acc, task, anns, image, size):
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
    acc.images[image] = ImageInfo(image, size[1], size[0], task.get("id"),
                                  labelstudio_ref(task, ann))
    acc.regions[image] = _regions(results, acc, where)


def _emails(data, file):
    emails = {}
    for t, task in enumerate(data):
        anns = task.get("annotations")
        if anns is not None and not isinstance(anns, list):
            raise FormatError(f"task {t} 'annotations' must be a list, got {short(anns)}",
                              file=file)
        for ann in anns or []:
            cb = ann.get("completed_by") if isinstance(ann, dict) else None
            if isinstance(cb, dict):
                _user_id(cb, file)
                if cb.get("email"):
                    if not isinstance(cb["email"], str):
                        raise FormatError(f"task {t} completed_by 'email' must be a string, got "
                                          f"{short(cb['email'])}", file=file)
                    emails[cb.get("id")] = cb["email"]
    return emails


def read_whole(json_path, *, categories=None, stuff=(), strip_upload_prefix=True, rename=None,
               brush_threshold=128, include_predictions=False, order="file", limits=None):
    """``read_labelstudio_sources`` as it was: the whole export in memory."""
    path = Path(json_path)
    limits = resolve_limits(limits)
    with reader_errors("Label Studio JSON", file=str(path)):
        data = read_json(path, limits=limits)
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list) or not all(isinstance(t, dict) for t in data):
            raise FormatError("Label Studio JSON export must be a list of tasks, got "
                              f"{type(data).__name__}", file=str(path))
        if not any(("annotations" in t or "result" in t) for t in data):
            raise FormatError("Label Studio JSON export must be a list of tasks with "
                              "'annotations', got none (is this the export's -info.json?)",
                              file=str(path))
        emails = _emails(data, str(path))
        items = _parse_export(data, file=str(path), name_of=lambda t, i: _task_image(
            t, i, strip_upload_prefix, rename, str(path)),
            annotator_of=lambda cb: _annotator(cb, emails),
            include_predictions=include_predictions, limits=limits)
        labels = sorted({r.label for it in items.values() for regs in it.regions.values()
                         for r in regs} - {""})
        cats = resolve_categories(labels, categories=categories, stuff=stuff, file=str(path))
        return {who: it.to_source(cats, brush_threshold=brush_threshold, order=order,
                                  name=str(path) if len(items) == 1 else f"{path}#{who}")
                for who, it in items.items()}
