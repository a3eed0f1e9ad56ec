"""Study files: a small JSON or TOML file naming each annotator's export.

A study file lets a study mix formats, keep exports anywhere under one folder, restrict the
images and fix the category set. Every path in it is relative to the study file's folder and must
stay inside that folder (no ``..`` escapes, no absolute paths)::

    # study.toml
    name = "street scenes, batch 1"
    images_dir = "images"            # optional: photos shown under the report's crops
    images = ["frame_0001.jpg"]      # optional: use only these images (base file names)
    categories = "categories.json"   # optional: COCO categories list (file or inline)
    align = "file_name"              # optional: or "image_id"
    missing_exports = "error"        # optional: or "skip" (a partial study; skips are noted)

    [annotators.alice]
    path = "batch1/alice/panoptic.json"
    format = "coco_panoptic"         # optional: detected from the content otherwise

    [annotators.bob]
    path = "batch1/bob.json"

    [[exports]]                      # optional: one export holding several annotators
    path = "label_studio_export.json"

The JSON form has the same keys (``{"annotators": {"alice": {"path": ...}}, ...}``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FormatError, StudyError
from ..model import AnnotationSource, Categories, ImageInfo, PanopticAnnotation, Study, image_key
from ._catmatch import match_by_name
from ._files import inside, read_json, read_toml
from .discovery import STUDY_FILE_KEYS, STUDY_FILE_NAMES, Discovery, shown
from .readers import expand_sources, resolve_export, takes_categories

__all__ = [
    "STUDY_FILE_NAMES",
    "AnnotatorSpec",
    "StudyInput",
    "StudySpec",
    "is_study_file",
    "read_study_file",
]

_KEYS = STUDY_FILE_KEYS


@dataclass(frozen=True)
class AnnotatorSpec:
    """One export named by a study file.

    Attributes
    ----------
    name : str or None
        The annotator's name; None for an export holding several annotators.
    path : Path
        The export, resolved inside the study file's folder.
    format : str or None
        Reader name (see ``agreement.io.readers.READERS``); None to detect it.
    """

    name: str | None
    path: Path
    format: str | None = None


@dataclass(frozen=True)
class StudySpec:
    """A parsed study file. Use :meth:`load` to open the exports as a :class:`Study`.

    Attributes
    ----------
    path : Path
        The study file.
    name : str
        A title for reports (default: the file's stem).
    annotators : tuple of AnnotatorSpec
        Exports in file order (single-annotator ones first, then multi-annotator exports).
    images : tuple of str or None
        Image base names to keep; None keeps every image.
    categories : Categories or None
        The study's category set; None takes the union of the exports' sets.
    images_dir : Path or None
        Folder of the photos (for report crops).
    align : str
    missing_exports : {"error", "skip"}
        What an export the file names but that does not exist does: stop the run (default), or
        leave the annotator out (listed by :meth:`missing`).
    """

    path: Path
    name: str
    annotators: tuple[AnnotatorSpec, ...]
    images: tuple[str, ...] | None = None
    categories: Categories | None = None
    images_dir: Path | None = None
    align: str = "file_name"
    extra: Mapping[str, Any] = field(default_factory=dict)
    missing_exports: str = "error"

    def relative(self, path: Path) -> str:
        """``path`` as written relative to the study file's folder (for messages)."""
        try:
            return shown(path.relative_to(self.path.parent.resolve()))
        except ValueError:
            return shown(path)

    def missing(self) -> tuple[AnnotatorSpec, ...]:
        """The exports named by the file that do not exist."""
        return tuple(a for a in self.annotators if not a.path.exists())

    def present(self) -> tuple[AnnotatorSpec, ...]:
        """The exports to open: every one, or (``missing_exports = "skip"``) those that exist.

        Raises
        ------
        StudyError
            An export is missing and ``missing_exports`` is ``"error"``, or every one is.
        """
        gone = self.missing()
        if gone and self.missing_exports != "skip":
            who = f"annotator {gone[0].name!r}" if gone[0].name else "exports"
            raise StudyError(
                f"file {shown(self.path)!r}, {who}: export {self.relative(gone[0].path)!r} must "
                f"exist, got no such file or folder ({len(gone)} of {len(self.annotators)} "
                "missing); fix the path, or set missing_exports = \"skip\" for a partial study")
        kept = tuple(a for a in self.annotators if a not in gone)
        if not kept:
            raise StudyError(f"file {shown(self.path)!r}: the exports it names must exist, got "
                             f"none of {len(self.annotators)}")
        return kept

    def load(self) -> Study:
        """Open every export and assemble the study.

        Raises
        ------
        StudyError
            Duplicate annotator names, missing exports, images listed but annotated by nobody,
            categories that contradict the study's category set.
        """
        sources: dict[str, AnnotationSource] = {}
        for spec, found in self._read():
            for who, source in found.items():
                if who is None:
                    name = spec.name or spec.path.stem
                else:
                    name = f"{spec.name}/{who}" if spec.name else str(who)
                if name in sources:
                    raise StudyError(
                        f"file {str(self.path)!r}: annotator names must be unique, "
                        f"got {name!r} twice"
                    )
                sources[name] = source
        if self.categories is not None:
            for name, source in sources.items():
                _check_categories(self.categories, source, name, self.path)
        if self.images is not None:
            sources = {n: ImageSubset(s, self.images) for n, s in sources.items()}
            known = {image_key(i) for s in sources.values() for i in s.images}
            unknown = [i for i in self.images if i not in known]
            if unknown:
                raise StudyError(
                    f"file {str(self.path)!r}: listed images must be annotated by at "
                    f"least one annotator, got {unknown[:5]} annotated by none"
                )
        return Study(sources, align=self.align, categories=self.categories)

    def _read(self) -> list[tuple[AnnotatorSpec, Mapping[str | None, AnnotationSource]]]:
        """Every export present, as ``expand_sources`` gives it; without a category set, the
        exports of tools that number labels differently matched by name."""
        specs = [(spec, resolve_export(spec.path, spec.format)[1]) for spec in self.present()]
        # expand_sources gives categories= only to the readers that take it (not COCO panoptic)
        given = {} if self.categories is None else {"categories": self.categories}
        read = [expand_sources(spec.path, format=fmt, **given) for spec, fmt in specs]
        names = [spec.name or spec.path.stem for spec, _ in specs]
        if self.categories is not None or len(set(names)) < len(names):
            return [(spec, found) for (spec, _), found in zip(specs, read, strict=True)]
        at = dict(zip(names, specs, strict=True))  # repeated names are refused by load
        matched = match_by_name(
            dict(zip(names, read, strict=True)),
            renumberable={n: takes_categories(fmt) for n, (_, fmt) in at.items()},
            reread=lambda n, cats: expand_sources(at[n][0].path, format=at[n][1],
                                                  categories=cats))
        return [(spec, matched[n]) for n, (spec, _) in at.items()]


class ImageSubset:
    """An :class:`AnnotationSource` restricted to some images (by base file name)."""

    def __init__(self, source: AnnotationSource, images: tuple[str, ...]) -> None:
        keep = set(images)
        self._source = source
        self.name = source.name
        self.categories = source.categories
        self.images: tuple[ImageInfo, ...] = tuple(i for i in source.images if image_key(i) in keep)

    def load(self, file_name: str) -> PanopticAnnotation:
        """Decode one image through the wrapped source."""
        return self._source.load(file_name)

    def __getattr__(self, attr: str) -> Any:  # segment_count and reader extras
        if attr.startswith("__") or attr == "_source":  # not yet set (unpickling): no loop
            raise AttributeError(attr)
        return getattr(self._source, attr)


def _check_categories(
    cats: Categories, source: AnnotationSource, annotator: str, path: Path
) -> None:
    for cid, cat in source.categories.items():
        known = cats.get(cid)
        if known is None or (known.name, known.isthing) != (cat.name, cat.isthing):
            want = "absent" if known is None else f"{known.name!r} (isthing={known.isthing})"
            raise StudyError(
                f"file {str(path)!r}, annotator {annotator!r}: category {cid} must match the "
                f"study's category set ({want}), got {cat.name!r} (isthing={cat.isthing}) in "
                f"{source.name!r}"
            )


def is_study_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a study file: a ``.toml`` file, or a JSON object with ``annotators``.

    Examples
    --------
    >>> is_study_file("no/such/file.json")
    False
    """
    p = Path(path)
    if not p.is_file():
        return False
    if p.suffix.lower() == ".toml":
        return True
    if p.suffix.lower() != ".json":
        return False
    with open(p, "rb") as fh:
        head = fh.read(4096).lstrip()
    # Exports are large; a study file is small and names its annotators near the top.
    return head.startswith(b"{") and b'"annotators"' in head and b'"segments_info"' not in head


def read_study_file(path: str | os.PathLike[str]) -> StudySpec:
    """Parse a JSON or TOML study file (see the module docstring for its keys).

    Parameters
    ----------
    path
        The study file; every path inside is relative to its folder and must stay inside it.

    Returns
    -------
    StudySpec

    Raises
    ------
    FormatError
        Invalid TOML / JSON, unknown keys, wrong value types.
    PathEscapeError
        A path leaves the study file's folder.

    Examples
    --------
    >>> spec = read_study_file("study.toml")  # doctest: +SKIP
    >>> study = spec.load()  # doctest: +SKIP
    """
    path = Path(path)
    data = _parse(path)
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise FormatError(
            f"study file keys must be among {sorted(_KEYS)}, got {unknown}", file=path
        )
    base = path.parent
    annotators = _annotators(data.get("annotators", {}), base, path)
    exports = data.get("exports", [])
    if not isinstance(exports, list):
        raise FormatError(f"'exports' must be a list of tables, got {exports!r}", file=path)
    annotators += tuple(
        _one(None, e, base, path, what=f"exports[{i}]") for i, e in enumerate(exports)
    )
    if not annotators:
        raise FormatError(
            "study file must name at least one export under 'annotators' or 'exports', got none",
            file=path,
        )
    images = data.get("images")
    if images is not None and not (
        isinstance(images, list) and all(isinstance(i, str) for i in images)
    ):
        raise FormatError(f"'images' must be a list of file names, got {images!r}", file=path)
    images_dir = data.get("images_dir")
    if images_dir is not None:
        images_dir = inside(base, _string(images_dir, "images_dir", path), file=path)
    align = _string(data.get("align", "file_name"), "align", path)
    name = _string(data.get("name", path.stem), "name", path)
    missing = data.get("missing_exports", "error")
    if missing not in ("error", "skip"):
        raise FormatError(f"'missing_exports' must be 'error' or 'skip', got {missing!r}",
                          file=path)
    return StudySpec(
        path=path,
        name=name,
        annotators=annotators,
        images=None if images is None else tuple(image_key(ImageInfo(i, 1, 1)) for i in images),
        categories=_categories(data.get("categories"), base, path),
        images_dir=images_dir,
        align=align,
        missing_exports=missing,
    )


def _parse(path: Path) -> dict[str, Any]:
    data = read_toml(path) if path.suffix.lower() == ".toml" else read_json(path)
    if not isinstance(data, dict):
        raise FormatError(f"study file must hold an object, got {type(data).__name__}", file=path)
    return data


def _string(value: Any, key: str, path: Path) -> str:
    if not isinstance(value, str) or not value:
        raise FormatError(f"{key!r} must be a non-empty string, got {value!r}", file=path)
    return value


def _annotators(value: Any, base: Path, path: Path) -> tuple[AnnotatorSpec, ...]:
    if isinstance(value, dict):
        return tuple(_one(str(k), v, base, path, what=f"annotators.{k}") for k, v in value.items())
    if isinstance(value, list):
        out = []
        for i, entry in enumerate(value):
            name = entry.get("name") if isinstance(entry, dict) else None
            out.append(
                _one(
                    _string(name, f"annotators[{i}].name", path),
                    entry,
                    base,
                    path,
                    what=f"annotators[{i}]",
                )
            )
        return tuple(out)
    raise FormatError(f"'annotators' must be a table of name -> export, got {value!r}", file=path)


def _one(name: str | None, entry: Any, base: Path, path: Path, *, what: str) -> AnnotatorSpec:
    if isinstance(entry, str):
        entry = {"path": entry}
    if not isinstance(entry, dict) or "path" not in entry:
        raise FormatError(
            f"{what} must be a path or a table with a 'path', got {entry!r}", file=path
        )
    extra = sorted(set(entry) - {"path", "format", "name"})
    if extra:
        raise FormatError(
            f"{what} keys must be among ['format', 'name', 'path'], got {extra}", file=path
        )
    fmt = entry.get("format")
    if fmt is not None:
        fmt = _string(fmt, f"{what}.format", path)
    return AnnotatorSpec(
        name, inside(base, _string(entry["path"], f"{what}.path", path), file=path), fmt
    )


def _categories(value: Any, base: Path, path: Path) -> Categories | None:
    if value is None:
        return None
    if isinstance(value, str):
        target = inside(base, value, file=path)
        doc = read_json(target)
        value = doc.get("categories") if isinstance(doc, dict) else doc
        path = target
    if not isinstance(value, list):
        raise FormatError(
            f"'categories' must be a COCO categories list, got {json.dumps(value)[:80]}", file=path
        )
    return Categories.from_coco(value, file=str(path))


@dataclass(frozen=True)
class StudyInput:
    """A study opened from a path, with what a report needs to know about where it came from.

    Made by :func:`agreement.io.open_study`.

    Attributes
    ----------
    study : Study
    name : str
        The study file's ``name``, else the folder or file name.
    images_dir : Path or None
        The photos: the study file's ``images_dir``, else an ``images/`` folder in or beside the
        study folder, else None.
    files : tuple of Path
        The study file, when there is one (exports are listed by the study's sources).
    discovery : Discovery or None
        What the study path held: annotators taken, companions, entries skipped.
    notes : tuple of str
        What a command says about how the study was read (every class a thing when no export
        states thing / stuff).
    """

    study: Study
    name: str
    images_dir: Path | None
    files: tuple[Path, ...] = ()
    discovery: Discovery | None = None
    notes: tuple[str, ...] = ()
