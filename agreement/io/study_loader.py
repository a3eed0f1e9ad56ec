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
from .bsds import is_bsds_folder, load_bsds_study
from .coco_panoptic import read_coco_panoptic
from .label_maps import is_label_map_folder, read_label_maps

__all__ = ["READERS", "load_source", "load_study"]

#: Format name -> function(path) -> AnnotationSource. Other readers register themselves here.
READERS: dict[str, Callable[[Path], AnnotationSource]] = {
    "coco_panoptic": lambda path: read_coco_panoptic(path),
    "label_maps": read_label_maps,
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
    if format is None and is_label_map_folder(path):
        return read_label_maps(path)
    if path.is_dir() and format != "label_maps":
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
        A study folder (one sub-folder or export file per annotator; a sub-folder of PNG / ``.npy``
        label maps is a class-agnostic annotator), a BSDS ground-truth folder of ``.mat`` files
        (annotators ``person_k``, see :mod:`agreement.io.bsds`), or a mapping.
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
    if isinstance(path, Mapping):
        entries = {str(k): Path(v) for k, v in path.items()}
    else:
        root = Path(path)
        if not root.is_dir():
            raise StudyError(f"study path must be a folder of annotator exports, got {str(root)!r}")
        if format == "bsds" or (format is None and is_bsds_folder(root)):
            return load_bsds_study(root)
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
