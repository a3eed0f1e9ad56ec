"""Open one export: the reader of each format, chosen from the content unless told.

:func:`load_source` opens an export holding one annotator; :func:`expand_sources` one that may
hold several (a Label Studio export with several ``completed_by``, a CVAT project split by task,
a BSDS folder). Both take a file or an annotator folder (see :mod:`agreement.io.discovery` for
which file of a folder is its export).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import StudyError
from ..model import AnnotationSource
from .bsds import read_bsds
from .coco_instances import read_coco_instances
from .coco_panoptic import read_coco_panoptic
from .cvat import read_cvat_sources
from .discovery import detect_format, export_file, shown
from .label_maps import read_label_maps
from .labelstudio import read_labelstudio_sources

__all__ = ["MULTI_READERS", "READERS", "expand_sources", "load_source", "resolve_export",
           "takes_categories"]


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

_FOLDER_FORMATS = ("label_maps", "bsds")


def _options_for(fn: Callable, options: Mapping[str, Any]) -> dict[str, Any]:
    target = getattr(fn, "__wrapped__", fn)
    params = inspect.signature(target).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return dict(options)
    return {k: v for k, v in options.items() if k in params and v is not None}


def takes_categories(format: str) -> bool:
    """Whether the reader of ``format`` takes ``categories=`` (a category set matched by name).

    >>> takes_categories("cvat"), takes_categories("coco_panoptic")
    (True, False)
    """
    reader = MULTI_READERS.get(format) or READERS[format]
    return "categories" in _options_for(reader, {"categories": True})


def resolve_export(path: str | os.PathLike[str], format: str | None = None) -> tuple[Path, str]:
    """The export file (or label-map / BSDS folder) behind ``path`` and its format.

    Raises
    ------
    StudyError
        A folder holding no export, or two; an unknown ``format``.
    FormatError
        The file is not a recognised export.
    """
    path = Path(path)
    if format is not None and format not in READERS:
        raise StudyError(f"format must be one of {sorted(READERS)}, got {format!r}")
    if format in _FOLDER_FORMATS or not path.is_dir():
        return path, format or detect_format(path)
    found, kind, _ = export_file(path)
    if found is not None:
        return found.path, format or found.format
    if kind is None:
        raise StudyError(f"annotator folder {shown(path)!r} must hold an export file (.json or "
                         ".xml, directly or in annotations/) or label maps, got none")
    return path, format or kind


def load_source(path: str | os.PathLike[str], *, format: str | None = None,
                **options: Any) -> AnnotationSource:
    """Open one annotator's export, auto-detecting the format unless ``format`` is given.

    ``options`` (``categories``, ``stuff``, ``order``, ...) go to the readers that take them.

    Examples
    --------
    >>> src = load_source("anna.xml", categories="categories.json")  # doctest: +SKIP
    """
    path, fmt = resolve_export(path, format)
    reader = READERS[fmt]
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
    path, fmt = resolve_export(path, format)
    multi = MULTI_READERS.get(fmt)
    if multi is None:
        reader = READERS[fmt]
        return {None: reader(path, **_options_for(reader, options))}
    sources = multi(path, **_options_for(multi, options))
    if len(sources) == 1:
        return {None: next(iter(sources.values()))}
    return dict(sources)
