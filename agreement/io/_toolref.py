"""The tool's own references of an image (:class:`~agreement.model.ToolRef`), as readers fill them.

CVAT (``<meta>`` of a task, job or project export, and each ``<image>``):

* ``frame``: the task's frame number, as CVAT's UI and ``?frame=<n>`` URLs show it. Task and job
  exports write it as the ``<image id>``; a project export numbers frames across the tasks of a
  subset, so the task's offset (the sizes of the subset's earlier tasks, in the export's task
  order, as CVAT's ``ProjectData`` counts them) is subtracted.
* ``task_id``: the task export's ``<task><id>``, or the project export's ``<image task_id>``; a job
  export does not name its task (None).
* ``job_id``: the job export's ``<job><id>``; in task and project exports, the job of the
  ``<segment>`` whose ``start..stop`` holds the frame (segment ``url`` ``.../api/jobs/<id>``;
  old exports with another URL give None).

Label Studio: the task ``id``, the annotation's ``id`` and its ``completed_by`` user id (an int or
the ``id`` of a dict); ``image`` is the task's data value as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element

from ..model import ToolRef

__all__ = ["cvat_refs", "labelstudio_ref", "task_data_value"]

_JOB_URL = re.compile(r"/api/jobs/(\d+)\s*$")
_STEP = re.compile(r"step\s*=\s*(\d+)")


def _int(value: Any) -> int | None:
    """An int from an int or a decimal string; None for anything else (never raises)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,18}\s*", value):
        return int(value)
    return None


def _text(el: Element | None, path: str) -> str:
    found = el.find(path) if el is not None else None
    return (found.text or "").strip() if found is not None else ""


@dataclass(frozen=True)
class _Task:
    start: int
    step: int
    offset: int
    segments: tuple[tuple[int, int, int | None], ...]  # (start, stop, job id) in relative frames

    def job(self, frame: int) -> int | None:
        rel, rest = divmod(frame - self.start, self.step)
        if rest:
            return None
        return next((job for lo, hi, job in self.segments if lo <= rel <= hi), None)


def _task(el: Element, offset: int) -> _Task:
    step = _STEP.search(_text(el, "frame_filter"))
    segments = []
    for seg in el.iterfind("segments/segment"):
        lo, hi = _int(_text(seg, "start")), _int(_text(seg, "stop"))
        url = _JOB_URL.search(_text(seg, "url"))
        if lo is not None and hi is not None:
            segments.append((lo, hi, int(url.group(1)) if url else None))
    return _Task(_int(_text(el, "start_frame")) or 0, max(int(step.group(1)), 1) if step else 1,
                 offset, tuple(segments))


def _project_tasks(top: Element) -> dict[str, _Task]:
    """Task id -> its frame layout; offsets restart with each subset, in the export's order."""
    out: dict[str, _Task] = {}
    subset, offset = None, 0
    for el in top.iterfind("tasks/task"):
        if _text(el, "subset") != subset:
            subset, offset = _text(el, "subset"), 0
        task = _task(el, offset)
        out[_text(el, "id")] = task
        size = _int(_text(el, "size")) or 0
        offset += task.start + task.step * size
    return out


def cvat_refs(kind: str, top: Element | None) -> Callable[[Element], ToolRef]:
    """A function giving the :class:`ToolRef` of each ``<image>`` of a CVAT export.

    Parameters
    ----------
    kind : {"job", "task", "project", "none"}
        The export's meta kind.
    top : Element or None
        The ``<job>``, ``<task>`` or ``<project>`` element of ``<meta>``.
    """
    job_id = _int(_text(top, "id")) if kind == "job" else None
    if kind == "project" and top is not None:
        tasks = _project_tasks(top)
    elif kind in ("task", "job") and top is not None:
        tasks = {"": _task(top, 0)}
    else:
        tasks = {}
    task_id = _int(_text(top, "id")) if kind == "task" else None

    def ref(image: Element) -> ToolRef:
        written = _int(image.get("id"))
        tid = image.get("task_id") if kind == "project" else ""
        task = tasks.get(tid or "")
        frame = written - task.offset if written is not None and task is not None else (
            written if kind != "project" else None)
        job = job_id if kind == "job" else (
            task.job(frame) if task is not None and frame is not None else None)
        return ToolRef("cvat", image=image.get("name"),
                       task_id=_int(tid) if kind == "project" else task_id, job_id=job,
                       frame=frame)

    return ref


def task_data_value(task: dict) -> str | None:
    """A Label Studio task's image: ``data["image"]``, else its first text value, else None."""
    data = task.get("data")
    if not isinstance(data, dict):
        return None
    value = data.get("image")
    if isinstance(value, str):
        return value
    return next((v for v in data.values() if isinstance(v, str)), None)


def labelstudio_ref(task: dict, annotation: dict) -> ToolRef:
    """The :class:`ToolRef` of one Label Studio annotation (or prediction) of a task."""
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        who = who.get("id")
    return ToolRef("labelstudio", image=task_data_value(task), task_id=_int(task.get("id")),
                   annotation_id=_int(annotation.get("id")), completed_by=_int(who))
