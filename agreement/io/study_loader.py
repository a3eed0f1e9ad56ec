"""Assemble a :class:`~agreement.model.Study` from files on disk.

A study folder holds one entry per annotator export: a sub-folder containing one export, or an
export file directly (``alice.json`` with its PNG folder ``alice/``); which entries count, which
are companions (``categories.json``, ``images/``, READMEs) and which are skipped is decided by
:mod:`agreement.io.discovery`. The annotator's name is the sub-folder's (or file's) name. An
export holding several annotators (a Label Studio export with several ``completed_by``, a CVAT
project export split by task) expands into one annotator each, named as the file names them
(``user-2``, an email, an assignee); a name that collides with another entry's is prefixed with
the entry's name (``batch/user-2``). A ``categories.json`` in the study folder is the shared
category set of every format that does not carry one.

Formats are detected from the content (:func:`detect_format`) unless ``format=`` is given.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import StudyError
from ..model import AnnotationSource, Categories, Study
from ._catmatch import CATEGORIES_HINT, flag_note, match_by_name
from .bsds import load_bsds_study
from .discovery import (
    STUDY_FILE_NAMES,
    Discovery,
    Found,
    Skipped,
    detect_format,
    discover_folder,
    shown,
)
from .readers import (
    MULTI_READERS,
    READERS,
    expand_sources,
    load_source,
    resolve_export,
    takes_categories,
)
from .study_file import StudyInput, StudySpec, is_study_file, read_study_file

__all__ = ["MULTI_READERS", "READERS", "detect_format", "discover", "expand_sources",
           "load_source", "load_study", "open_study"]

StudyPath = str | os.PathLike[str] | Mapping[str, str | os.PathLike[str]]


def _study_file_of(root: Path) -> Path | None:
    if root.is_dir():
        return next((root / n for n in STUDY_FILE_NAMES if (root / n).is_file()), None)
    return root if is_study_file(root) else None


def _from_spec(spec: StudySpec) -> Discovery:
    found = []
    for a in spec.present():
        path, fmt = resolve_export(a.path, a.format)
        found.append(Found(a.name or a.path.stem, path, fmt))
    skipped = tuple(Skipped(a.path, "named by the study file but missing (missing_exports = "
                            "'skip')") for a in spec.missing())
    return Discovery(spec.path, "study_file", tuple(found), images_dir=spec.images_dir,
                     study_file=spec.path, skipped=skipped)


def discover(path: StudyPath, *, format: str | None = None) -> Discovery:
    """What a study path holds: the annotator entries, companions and skipped entries.

    Nothing is decoded: files are only sniffed (see :mod:`agreement.io.discovery` for the rules).

    Parameters
    ----------
    path
        Anything :func:`load_study` accepts.
    format
        As for :func:`load_study`.

    Returns
    -------
    Discovery
        ``note()`` gives the one line naming what was skipped.

    Raises
    ------
    StudyError
        The path does not exist, a folder holds no export, ambiguous entries.
    FormatError
        A broken ``.json`` / ``.xml`` entry, an unrecognised file given directly.

    Examples
    --------
    >>> discover("data/sample/batch1").kind
    'folder'
    """
    if isinstance(path, Mapping):
        found = []
        for name, p in path.items():
            export, fmt = resolve_export(p, format)
            found.append(Found(str(name), export, fmt))
        return Discovery(Path("."), "mapping", tuple(found))
    root = Path(path)
    spec_path = _study_file_of(root)
    if spec_path is not None:
        return _from_spec(read_study_file(spec_path))
    if root.is_file():
        export, fmt = resolve_export(root, format)
        return Discovery(root, "export", (Found(root.stem, export, fmt),))
    if not root.is_dir():
        raise StudyError(f"study path must be a folder of annotator exports, a study file or an "
                         f"export, got {shown(root)!r} (no such file or folder)")
    return discover_folder(root, format=format)


def load_study(
    path: StudyPath,
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
        ``study.json`` inside it; sub-folders of PNG / ``.npy`` label maps are class-agnostic
        annotators when the folder holds no export), a study file (see
        :mod:`agreement.io.study_file`), an export holding several annotators, a BSDS
        ground-truth folder of ``.mat`` files (annotators ``person_k``, see
        :mod:`agreement.io.bsds`), or a mapping ``{annotator: export path}``. What counts as an
        annotator in a folder is described in :mod:`agreement.io.discovery`; :func:`discover`
        lists what was taken and skipped.
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
    >>> study = load_study("data/sample/batch1")
    >>> study.annotators
    ('alice', 'bruno', 'chen', 'dana')
    """
    return _open(path, format=format, align=align, categories=categories, options=options)[0]


def _open(path: StudyPath, *, format: str | None, align: str,
          categories: Categories | str | os.PathLike[str] | None, options: dict[str, Any],
          single: bool = False) -> tuple[Study, Discovery, StudySpec | None]:
    """The study, what its path held and its study file (parsed once)."""
    spec_path = None if isinstance(path, Mapping) else _study_file_of(Path(path))
    if spec_path is not None:
        spec = read_study_file(spec_path)
        return spec.load(), _from_spec(spec), spec
    found = discover(path, format=format)
    return _assemble(found, format=format, align=align, categories=categories,
                     options=options, single=single), found, None


def _assemble(found: Discovery, *, format: str | None, align: str,
              categories: Categories | str | os.PathLike[str] | None,
              options: dict[str, Any], single: bool = False) -> Study:
    if found.kind == "bsds":
        return load_bsds_study(found.annotators[0].path)
    if categories is None:
        categories = found.categories
    if categories is not None:
        options["categories"] = categories
    formats = {f.name: format or f.format for f in found.annotators}
    paths = {f.name: f.path for f in found.annotators}
    expanded: Mapping[str, Mapping[str | None, AnnotationSource]] = {
        f.name: expand_sources(f.path, format=formats[f.name], **options)
        for f in found.annotators}
    if found.kind == "export" and list(expanded[found.annotators[0].name]) == [None]:
        if single:  # one annotator's export, e.g. to validate it: named after the file
            source = expanded[found.annotators[0].name][None]
            return Study({Path(found.annotators[0].path).stem: source}, align=align)
        raise StudyError(f"a study file or export must name several annotators, got one "
                         f"annotator in {shown(found.root)!r}; to compare it with others, put "
                         "each annotator's export in one study folder and pass the folder")
    if categories is None and found.kind != "export":  # tools that number labels differently
        expanded = match_by_name(
            expanded, renumberable={n: takes_categories(f) for n, f in formats.items()},
            reread=lambda name, cats: expand_sources(paths[name], format=formats[name],
                                                     **options, categories=cats))
    try:
        if found.kind == "export":
            return Study({str(k): v for k, v in expanded[found.annotators[0].name].items()},
                         align=align)
        return Study(_name_sources(expanded), align=align)
    except StudyError as exc:
        if categories is None and "category" in str(exc):
            why = ("some exports carry no thing / stuff flag, e.g. COCO instances or Datumaro's "
                   "panoptic" if str(exc).endswith(("got a thing", "got stuff")) else
                   "exports of different tools number labels differently")
            raise StudyError(f"{exc} ({why}: {CATEGORIES_HINT})") from None
        raise


def open_study(
    path: str | os.PathLike[str],
    *,
    images_dir: str | os.PathLike[str] | None = None,
    format: str | None = None,
    categories: Categories | str | os.PathLike[str] | None = None,
    single: bool = False,
    **options: Any,
) -> StudyInput:
    """Open a study folder, study file or multi-annotator export, with where it came from.

    Parameters
    ----------
    path
        Anything :func:`load_study` accepts as a path.
    images_dir
        Override the photos folder.
    single
        Accept an export holding one annotator's annotations (named after the file's stem), for
        commands that look at each annotator alone (``validate``, ``summary``); without it such
        an export is refused, as there is nothing to compare.
    format, categories, **options
        As for :func:`load_study`.

    Returns
    -------
    StudyInput
        The study, its name, its photos folder, its study file, its :class:`Discovery` and the
        notes of how it was read (``notes``).

    Examples
    --------
    >>> opened = open_study("data/sample/batch1")
    >>> opened.name, opened.images_dir.name, opened.discovery.note() is None
    ('batch1', 'images', True)
    """
    root = Path(path)
    study, found, spec = _open(root, format=format, align="file_name", categories=categories,
                               options=dict(options), single=single)
    if spec is not None:
        name, photos, files = spec.name, spec.images_dir, (spec.path,)
    else:
        name, files = (root.stem if root.is_file() else root.name), ()
        folder = root if root.is_dir() else root.parent
        photos = found.images_dir or next(
            (p for p in (folder / "images", folder.parent / "images") if p.is_dir()), None)
    chosen = Path(images_dir) if images_dir is not None else photos
    if chosen is not None and not chosen.is_dir():
        raise StudyError(f"images folder must be a folder of photos, got {shown(chosen)!r}"
                         f" ({'a file' if chosen.exists() else 'no such folder'})")
    given = categories is not None or found.categories is not None or (
        spec is not None and spec.categories is not None)
    said = None if given else flag_note({a: study.source(a) for a in study.annotators},
                                        study.categories)
    return StudyInput(study, name, chosen, files, found, notes=(said,) if said else ())


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
