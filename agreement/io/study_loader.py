"""Assemble a :class:`~agreement.model.Study` from files on disk.

A study folder holds one entry per annotator export: a sub-folder containing one export, or an
export file directly (``alice.json`` with its PNG folder ``alice/``). The annotator's name is the
sub-folder's (or file's) name. An export holding several annotators (a Label Studio export with
several ``completed_by``, a CVAT project export split by task) expands into one annotator each,
named as the file names them (``user-2``, an email, an assignee); a name that collides with
another entry's is prefixed with the entry's name (``batch/user-2``). A ``categories.json`` in
the study folder is the shared category set of every format that does not carry one.

Formats are detected from the content (:func:`detect_format`) unless ``format=`` is given.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import FormatError, StudyError
from ..model import AnnotationSource, Categories, Study
from ._files import read_json
from .bsds import is_bsds_folder, load_bsds_study, read_bsds
from .coco_instances import read_coco_instances
from .coco_panoptic import read_coco_panoptic
from .cvat import read_cvat_sources
from .label_maps import is_label_map_folder, read_label_maps
from .labelstudio import read_labelstudio_sources

__all__ = ["MULTI_READERS", "READERS", "detect_format", "expand_sources", "load_source",
           "load_study"]


def _single(fn: Callable[..., dict]) -> Callable[..., AnnotationSource]:
    def read(path: Path, **options: Any) -> AnnotationSource:
        sources = fn(path, **options)
        if len(sources) != 1:
            raise StudyError(f"export {str(path)!r} must hold one annotator here, got "
                             f"{len(sources)} ({sorted(sources)}); use expand_sources or "
                             "load_study, which expand it")
        return next(iter(sources.values()))
    read.__wrapped__ = fn  # type: ignore[attr-defined]
    return read


#: Format name -> function(path, **options) -> AnnotationSource (one annotator).
READERS: dict[str, Callable[..., AnnotationSource]] = {
    "coco_panoptic": read_coco_panoptic,
    "coco_instances": read_coco_instances,
    "cvat": _single(read_cvat_sources),
    "labelstudio": _single(read_labelstudio_sources),
    "label_maps": read_label_maps,
    "bsds": _single(read_bsds),
}

#: Format name -> function(path, **options) -> {annotator: source}, for multi-annotator exports.
MULTI_READERS: dict[str, Callable[..., dict[str, AnnotationSource]]] = {
    "bsds": read_bsds,
    "cvat": read_cvat_sources,
    "labelstudio": read_labelstudio_sources,
}


def detect_format(path: str | os.PathLike[str]) -> str:
    """Guess the export format of ``path`` from its content.

    CVAT: an XML whose root is ``<annotations>``; Label Studio: a JSON list (of tasks);
    COCO panoptic: a JSON object with ``segments_info``; COCO instances: a JSON object with
    ``annotations`` and ``segmentation`` (or ``bbox``).

    Raises
    ------
    FormatError
        The format is not recognised.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
    except OSError as exc:
        raise FormatError(f"file must be readable, got {exc.strerror}", file=path) from None
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        if b"<annotations" in head:
            return "cvat"
    elif text.startswith(b"["):
        return "labelstudio"
    elif text.startswith(b"{"):
        body = head if len(head) < 1 << 16 else path.read_bytes()
        if b'"segments_info"' in body:
            return "coco_panoptic"
        if b'"annotations"' in body and (b'"segmentation"' in body or b'"bbox"' in body):
            return "coco_instances"
        if b'"annotations"' in body and b'"data"' in body:
            return "labelstudio"
        read_json(path)  # an unrecognised object: say so, unless the JSON itself is broken
    raise FormatError("file must be a known annotation export (COCO panoptic or instances JSON, "
                      "CVAT for images XML, Label Studio JSON), got an unrecognised file",
                      file=path)


def _options_for(fn: Callable, options: Mapping[str, Any]) -> dict[str, Any]:
    target = getattr(fn, "__wrapped__", fn)
    params = inspect.signature(target).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return dict(options)
    return {k: v for k, v in options.items() if k in params and v is not None}


def _folder_format(path: Path, format: str | None) -> str | None:
    """``'label_maps'`` / ``'bsds'`` when ``path`` is such a folder (and ``format`` allows it)."""
    if format in (None, "label_maps") and is_label_map_folder(path):
        return "label_maps"
    if format in (None, "bsds") and is_bsds_folder(path):
        return "bsds"
    return None


def _export_file(path: Path) -> Path:
    if not path.is_dir() or _folder_format(path, None):
        return path
    candidates = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in
                        (".json", ".xml") and p.name != "categories.json")
    if len(candidates) != 1:
        raise StudyError(
            f"annotator folder {str(path)!r} must hold exactly one export file (.json or .xml), "
            f"got {[p.name for p in candidates]}")
    return candidates[0]


def load_source(path: str | os.PathLike[str], *, format: str | None = None,
                **options: Any) -> AnnotationSource:
    """Open one annotator's export, auto-detecting the format unless ``format`` is given.

    ``options`` (``categories``, ``stuff``, ``order``, ...) go to the readers that take them.

    Examples
    --------
    >>> src = load_source("anna.xml", categories="categories.json")  # doctest: +SKIP
    """
    path = Path(path)
    format = _folder_format(path, format) or format
    path = _export_file(path)
    fmt = format or detect_format(path)
    try:
        reader = READERS[fmt]
    except KeyError:
        raise StudyError(f"format must be one of {sorted(READERS)}, got {fmt!r}") from None
    return reader(path, **_options_for(reader, options))


def expand_sources(path: str | os.PathLike[str], *, format: str | None = None,
                   **options: Any) -> dict[str | None, AnnotationSource]:
    """Open an export that may hold several annotators: ``{annotator: source}``.

    A single-annotator export gives ``{annotator or None: source}``.

    Examples
    --------
    >>> expand_sources("labelstudio_export.json")  # doctest: +SKIP
    {'user-1': ShapeSource(...), 'user-2': ShapeSource(...)}
    """
    path = Path(path)
    format = _folder_format(path, format) or format
    path = _export_file(path)
    fmt = format or detect_format(path)
    multi = MULTI_READERS.get(fmt)
    if multi is None:
        return {None: load_source(path, format=fmt, **options)}
    sources = multi(path, **_options_for(multi, options))
    if len(sources) == 1:
        return {None: next(iter(sources.values()))}
    return dict(sources)


def load_study(
    path: str | os.PathLike[str] | Mapping[str, str | os.PathLike[str]],
    *,
    format: str | None = None,
    align: str = "file_name",
    categories: Categories | str | os.PathLike[str] | None = None,
    **options: Any,
) -> Study:
    """Load a study: a folder of annotator exports, or ``{annotator: export path}``.

    Parameters
    ----------
    path
        A study folder (one sub-folder or export file per annotator, or a ``study.toml`` /
        ``study.json`` inside it; a sub-folder of PNG / ``.npy`` label maps is a class-agnostic
        annotator), a study file (see :mod:`agreement.io.study_file`), an export holding several
        annotators, a BSDS ground-truth folder of ``.mat`` files (annotators ``person_k``, see
        :mod:`agreement.io.bsds`), or a mapping ``{annotator: export path}``.
    format
        Force one format for every annotator (default: detect each).
    align : {"file_name", "image_id"}
        How images are matched across annotators.
    categories
        Shared categories (object or file) for the formats that take them; by default the
        study folder's ``categories.json`` when present.
    **options
        Reader options (``stuff``, ``order``, ``brush_threshold``, ``rename``, ...), passed to
        the readers that accept them.

    Returns
    -------
    Study

    Examples
    --------
    >>> study = load_study("data/sample/batch1")  # doctest: +SKIP
    """
    from .study_file import STUDY_FILE_NAMES, is_study_file, read_study_file

    if isinstance(path, Mapping):
        entries = {str(k): Path(v) for k, v in path.items()}
    else:
        root = Path(path)
        own = [root / n for n in STUDY_FILE_NAMES if (root / n).is_file()] if root.is_dir() else []
        if is_study_file(root) or own:  # a study file, or a folder holding one
            return read_study_file(own[0] if own else root).load()
        if root.is_file():  # one export holding several annotators
            found = expand_sources(root, format=format, **options)
            if list(found) == [None]:
                raise StudyError(f"a study file or export must name several annotators, got one "
                                 f"annotator in {str(root)!r}")
            return Study({str(k): v for k, v in found.items()}, align=align)
        if not root.is_dir():
            raise StudyError(f"study path must be a folder of annotator exports, got {str(root)!r}")
        if format == "bsds" or (format is None and is_bsds_folder(root)):
            return load_bsds_study(root)
        if categories is None and (root / "categories.json").is_file():
            categories = root / "categories.json"
        entries = {}
        for child in sorted(root.iterdir()):
            if child.name.startswith(".") or child.name == "categories.json":
                continue
            if child.is_dir() and not child.with_suffix(".json").is_file():
                entries[child.name] = child
            elif child.is_file() and child.suffix.lower() in (".json", ".xml"):
                entries[child.stem] = child
        if not entries:
            raise StudyError(f"study folder {str(root)!r} must hold annotator exports, got none")
    if categories is not None:
        options["categories"] = categories
    expanded = {name: expand_sources(p, format=format, **options) for name, p in entries.items()}
    try:
        return Study(_name_sources(expanded), align=align)
    except StudyError as exc:
        if categories is None and "category" in str(exc):
            raise StudyError(f"{exc} (exports of different tools number labels differently: "
                             "put a categories.json in the study folder or pass "
                             "categories=)") from None
        raise


def _name_sources(expanded: Mapping[str, Mapping[str | None, AnnotationSource]]
                  ) -> dict[str, AnnotationSource]:
    singles = {e for e, found in expanded.items() if list(found) == [None]}
    out: dict[str, AnnotationSource] = {}
    for entry, found in expanded.items():
        for who, src in found.items():
            if who is None:
                out[entry] = src
                continue
            name = who if who not in singles and who not in out else f"{entry}/{who}"
            if sum(who in f for f in expanded.values()) > 1:
                name = f"{entry}/{who}"
            out[name] = src
    return out
