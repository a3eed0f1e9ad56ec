"""Label Studio JSON export (export type "JSON": a list of tasks) as panoptic maps.

One annotator per ``completed_by`` (its email when the export has it, else ``user-<id>``,
``unknown`` when absent). Read: ``polygonlabels`` (points in percent of ``original_width`` /
``original_height``) and ``brushlabels`` (Label Studio's bit-packed RLE of the RGBA canvas; the
alpha channel is the mask, foreground where ``alpha >= brush_threshold``) and
``bitmasklabels`` (a full-size PNG data URL; ``alpha > 0`` is the mask). Results sharing a
region ``id`` are merged (a ``polygon`` result plus a ``labels`` result). Skipped / cancelled
annotations are left out and counted; ``parent_annotation`` / ``parent_prediction`` (copies) are
flagged; several annotations of one task by one annotator keep the latest ``updated_at``.

Image names (the documented mapping): the task's ``data`` value (``data["image"]``, else the
first text value) is read as a URL or path; the query string is dropped, %-escapes decoded, the
base name kept, and Label Studio's upload prefix of 8 hex digits and a dash is stripped
(``/data/upload/1/48c220e9-cat.jpg`` -> ``cat.jpg``; ``strip_upload_prefix=False`` keeps it).
A local-files URL names its file in its ``d`` parameter (``/data/local-files/?d=images/cat.jpg``
-> ``cat.jpg``).
``rename`` (a mapping or a function) is applied last.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit

from .._checks import short
from ..errors import AnnotationError, FormatError
from ..model import Categories
from ._files import JsonArray, read_json_array
from ._guard import reader_errors
from ._labelstudio_parse import Shaper, parse_export
from ._limits import Limits, resolve_limits
from ._lsrle import Bitmask, Brush, bitmask_png, decode_brush, decode_rle_words
from ._shapes import apply_rename, resolve_categories
from ._toolref import task_data_value
from .layers import Order, ShapeSource

__all__ = ["Bitmask", "Brush", "bitmask_png", "decode_brush", "decode_rle_words", "image_name",
           "read_labelstudio", "read_labelstudio_sources"]

_PREFIX = re.compile(r"^[0-9a-fA-F]{8}-")


def _local_file(parts: SplitResult) -> str | None:
    """The ``d`` parameter of a local-files URL (``/data/local-files/?d=images/a.jpg``), else
    None."""
    if parts.path.rstrip("/").rsplit("/", 1)[-1] != "local-files":
        return None
    for item in parts.query.split("&"):
        key, _, value = item.partition("=")
        if key == "d" and value:
            return unquote(value)
    return None


def image_name(value: str, *, strip_upload_prefix: bool = True) -> str:
    """The image name of a task's data value (URL or path), by the documented mapping.

    A local-files URL (Label Studio's local storage, ``/data/local-files/?d=<path>``) names
    its file in the ``d`` parameter: its base name is the image name (no upload prefix to
    strip there).

    Examples
    --------
    >>> image_name("/data/upload/1/48c220e9-pexels-fox%201.jpg?x=1")
    'pexels-fox 1.jpg'
    >>> image_name("http://host:8080/data/local-files/?d=batch/images/a%20b.jpg")
    'a b.jpg'
    """
    parts = urlsplit(value)
    local = _local_file(parts)
    path = local if local is not None else unquote(parts.path)
    base = path.replace("\\", "/").rsplit("/", 1)[-1]
    if local is not None or not strip_upload_prefix:
        return base
    return _PREFIX.sub("", base, count=1)


def _annotator(completed_by: Any, emails: Mapping[int | str, str]) -> str:
    if isinstance(completed_by, dict):
        cid = completed_by.get("id")  # checked by _emails
        return completed_by.get("email") or emails.get(cid) or f"user-{cid}"
    if isinstance(completed_by, int) and not isinstance(completed_by, bool):
        return emails.get(completed_by, f"user-{completed_by}")
    return "unknown"


def _task_image(task: dict, index: int, strip: bool, rename: Any, file: str) -> str:
    value = task_data_value(task)
    try:
        name = (image_name(value, strip_upload_prefix=strip) if value
                else f"task-{task.get('id', index)}")
    except ValueError as exc:  # urlsplit: an invalid IPv6 literal, ...
        raise FormatError(f"task {index} image must be a URL or a path, got {short(value)} "
                          f"({exc})", file=file) from None
    return apply_rename(name, rename)


def read_labelstudio_sources(
    json_path: str | os.PathLike[str],
    *,
    categories: Categories | str | os.PathLike[str] | None = None,
    stuff: tuple[str, ...] | list[str] = (),
    strip_upload_prefix: bool = True,
    rename: Mapping[str, str] | Callable[[str], str] | None = None,
    brush_threshold: int = 128,
    include_predictions: bool = False,
    order: Order = "file",
    limits: Limits | None = None,
) -> dict[str, ShapeSource]:
    """Read a Label Studio JSON export: one source per annotator (``completed_by``).

    Parameters
    ----------
    json_path
    categories
        Authoritative categories (matched by label name); default: every label used in the
        file, sorted by name, ids 1, 2, ...
    stuff
        Label names that are stuff.
    strip_upload_prefix, rename
        Image-name mapping (see the module notes).
    brush_threshold : int
        Brush pixels are foreground where ``alpha >= brush_threshold`` (1 = Label Studio's own
        ``alpha > 0``; the default 128 is half coverage of anti-aliased edges).
    include_predictions : bool
        Also read each task's ``predictions`` as annotators ``prediction-<model_version>``.
        Items that are bare predictions (an ML backend's output: ``result`` without a task) are
        always read that way.
    order : {"file", "smaller_on_top"}
    limits : Limits, optional
        Largest sizes accepted (default: :meth:`Limits.from_env`).

    Returns
    -------
    dict of str to ShapeSource

    Notes
    -----
    The export is decoded a task at a time (:func:`~agreement.io._files.read_json_array`),
    three times: the list and the users' emails, then every task's checks, labels and
    findings, then (the categories known) each task's regions made shapes into the
    annotator's store. The errors come in that order, shapes annotator by annotator.

    Raises
    ------
    FormatError
        Not JSON, not a list of tasks, a field of the wrong type (``annotations`` and
        ``result`` must be lists, ids integers or strings). Any other failure while reading is
        an ``UnexpectedInputError`` (a FormatError).
    AnnotationError
        Missing ``original_width``/``original_height``, or ones that are not exact positive
        integers within ``limits`` (``0``, ``10.7``, ``"640"`` are refused), sizes that
        disagree within an image, non-finite points, a brush whose header claims another size
        than the image, two tasks mapping to one image name for one annotator.

    Examples
    --------
    >>> sources = read_labelstudio_sources("project-1-at-2025.json")  # doctest: +SKIP
    >>> sorted(sources)  # doctest: +SKIP
    ['ann@example.org', 'user-2']
    """
    path = Path(json_path)
    file = str(path)
    limits = resolve_limits(limits)
    with reader_errors("Label Studio JSON", file=file):
        # the tasks are decoded one at a time, as the file is read (the list and email checks)
        # and at each reading of the list below: the export is never all Python objects at
        # once, nor are its regions (a brush: a list of ints)
        scan = _Scan(file)
        data = read_json_array(path, limits=limits, each=scan)
        if not isinstance(data, JsonArray):  # one task, or not a list: read whole
            data, scan = [data] if isinstance(data, dict) else data, _Scan(file)
            for task in data if isinstance(data, list) else ():
                scan(task)
        emails = scan.emails(data)
        options = {"file": file, "annotator_of": lambda cb: _annotator(cb, emails),
                   "name_of": lambda task, t: _task_image(task, t, strip_upload_prefix, rename,
                                                          file),
                   "include_predictions": include_predictions, "limits": limits,
                   "images": {}}  # task -> image name and size, once
        items = parse_export(data, **options)
        labels = sorted(set().union(*(it.labels for it in items.values()))
                        - {""})  # a region without a label is an unknown_label
        cats = resolve_categories(labels, categories=categories, stuff=stuff, file=file)
        # read again, each region made a shape as its task is read (the checks all passed)
        shaper = Shaper(cats, rank=list(items), brush_threshold=brush_threshold, limits=limits)
        parse_export(data, regions=shaper, **options)
        shaper.check()
        return {who: it.to_source(cats, shaper.stores[who], shaper.findings[who], order=order,
                                  name=file if len(items) == 1 else f"{path}#{who}")
                for who, it in items.items()}


class _Scan:
    """The export's first reading, a task at a time: a list of tasks (objects), some with
    annotations; user id -> email, from the annotations whose ``completed_by`` is a dict with
    one. Nothing is raised before :meth:`emails`, which raises the errors in this order
    whatever the tasks they are found in: not a list of objects, then no task with
    annotations, then the first task whose emails are wrong."""

    def __init__(self, file: str) -> None:
        self.file, self.n, self.objects, self.annotated = file, 0, True, False
        self._emails: dict[int | str, str] = {}
        self.failed: Exception | None = None

    def __call__(self, task: Any) -> None:
        t, self.n = self.n, self.n + 1
        if not isinstance(task, dict):
            self.objects = False
            return
        self.annotated = self.annotated or "annotations" in task or "result" in task
        if self.failed is None:
            try:
                _emails(task, t, self.file, self._emails)
            except Exception as exc:  # raised once every task is known to be an object
                self.failed = exc

    def emails(self, data: Any) -> dict[int | str, str]:
        """The emails of the tasks seen (``data``: the document), or the first error."""
        if not isinstance(data, list | JsonArray) or not self.objects:
            kind = "list" if isinstance(data, JsonArray) else type(data).__name__
            raise FormatError(f"Label Studio JSON export must be a list of tasks, got {kind}",
                              file=self.file)
        if not self.annotated:
            raise FormatError("Label Studio JSON export must be a list of tasks with "
                              "'annotations', got none (is this the export's -info.json?)",
                              file=self.file)
        if self.failed is not None:
            raise self.failed
        return self._emails


def _emails(task: dict, t: int, file: str, emails: dict[int | str, str]) -> None:
    """Add the emails of task ``t``'s annotations to ``emails`` (user id -> email)."""
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


def _user_id(cb: dict, file: str) -> int | str | None:
    uid = cb.get("id")
    if uid is not None and (not isinstance(uid, int | str) or isinstance(uid, bool)):
        raise FormatError(f"completed_by 'id' must be an integer or a string, got {short(uid)}",
                          file=file)
    return uid


def read_labelstudio(json_path: str | os.PathLike[str], *, annotator: str | None = None,
                     **options: Any) -> ShapeSource:
    """One annotator of a Label Studio export (options as :func:`read_labelstudio_sources`).

    ``annotator`` may be omitted when the export holds one annotator.

    Examples
    --------
    >>> src = read_labelstudio("export.json", annotator="user-2")  # doctest: +SKIP
    """
    sources = read_labelstudio_sources(json_path, **options)
    if annotator is None and len(sources) == 1:
        return next(iter(sources.values()))
    if annotator not in sources:
        raise AnnotationError(f"annotator must be one of {sorted(sources)}, got {annotator!r}",
                              file=str(json_path))
    return sources[annotator]
