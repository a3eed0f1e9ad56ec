"""Assemble a :class:`~agreement.model.Study` from files on disk.

A study folder holds one entry per annotator: a sub-folder containing one export, or an export
file directly (``alice.json`` with its PNG folder ``alice/``). The annotator's name is the
sub-folder's (or file's) name.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from ..errors import FormatError, StudyError
from ..model import AnnotationSource, Study
from .coco_panoptic import read_coco_panoptic

__all__ = ["READERS", "load_source", "load_sources", "load_study"]

#: Format name -> function(path) -> AnnotationSource. Other readers register themselves here.
READERS: dict[str, Callable[[Path], AnnotationSource]] = {
    "coco_panoptic": lambda path: read_coco_panoptic(path),
}


def detect_format(path: Path) -> str:
    """Guess the export format of ``path`` from its content.

    Raises
    ------
    FormatError
        The format is not recognised.
    """
    if path.suffix.lower() == ".json":
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
        if b'"segments_info"' in head or (b'"annotations"' in head and b'"segments_info"' in path.read_bytes()):
            return "coco_panoptic"
    raise FormatError("file must be a known annotation export (COCO panoptic JSON), got an "
                      "unrecognised file", file=path)


def load_source(path: str | os.PathLike[str], *, format: str | None = None) -> AnnotationSource:
    """Open one annotator's export, auto-detecting the format unless ``format`` is given."""
    path = Path(path)
    if path.is_dir():
        candidates = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in (".json", ".xml"))
        if len(candidates) != 1:
            raise StudyError(
                f"annotator folder {str(path)!r} must hold exactly one export file (.json or .xml), "
                f"got {[p.name for p in candidates]}")
        path = candidates[0]
    fmt = format or detect_format(path)
    try:
        reader = READERS[fmt]
    except KeyError:
        raise StudyError(f"format must be one of {sorted(READERS)}, got {fmt!r}") from None
    return reader(path)


def load_sources(
    path: str | os.PathLike[str], *, format: str | None = None, name: str | None = None
) -> dict[str, AnnotationSource]:
    """Open one export as ``{annotator: source}`` (several entries for a multi-annotator export).

    A reader may return a mapping of annotator name -> source (e.g. a Label Studio export whose
    tasks hold several people's annotations); ``name`` then prefixes nothing and is ignored.
    """
    source = load_source(path, format=format)
    if isinstance(source, Mapping):
        return {str(k): v for k, v in source.items()}
    return {name if name is not None else Path(path).stem: source}


def load_study(
    path: str | os.PathLike[str] | Mapping[str, str | os.PathLike[str]],
    *,
    format: str | None = None,
    align: str = "file_name",
) -> Study:
    """Load a study: a folder of annotator exports, or ``{annotator: export path}``.

    Parameters
    ----------
    path
        A study folder (one sub-folder or export file per annotator, or a ``study.toml`` /
        ``study.json`` inside it), a study file (see :mod:`agreement.io.study_file`), an export
        holding several annotators, or a mapping ``{annotator: export path}``.
    format
        Force one format for every annotator (default: detect each).
    align : {"file_name", "image_id"}
        How images are matched across annotators.

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
        if is_study_file(root) or own:
            return read_study_file(own[0] if own else root).load()
        if root.is_file():  # one export holding several annotators
            sources = load_sources(root, format=format)
            if len(sources) < 2:
                raise StudyError(f"a study file or multi-annotator export must name several "
                                 f"annotators, got {list(sources)} in {str(root)!r}")
            return Study(sources, align=align)
        if not root.is_dir():
            raise StudyError(f"study path must be a folder of annotator exports, got {str(root)!r}")
        entries = {}
        for child in sorted(root.iterdir()):
            if child.name.startswith("."):
                continue
            if child.is_dir() and not child.with_suffix(".json").is_file():
                entries[child.name] = child
            elif child.is_file() and child.suffix.lower() in (".json", ".xml"):
                entries[child.stem] = child
        if not entries:
            raise StudyError(f"study folder {str(root)!r} must hold annotator exports, got none")
    return Study({name: load_source(p, format=format) for name, p in entries.items()}, align=align)
