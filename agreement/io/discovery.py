"""What a study folder holds: which entries are annotators, which are companions, which are skipped.

The rules, in the order they apply to each entry of a study folder (documented in
``docs/formats.md``, "What a study folder is"):

1. **Hidden and system entries** (a name starting with ``.``, ``__MACOSX``, ``Thumbs.db``,
   ``desktop.ini``) and **editor backups** (``name~``, ``#name#``, ``~$name``, ``.bak``, ``.swp``,
   ``.tmp``, ``.orig``, ``.part``, ...) are skipped.
2. **Companions** are used or known, never annotators: ``categories.json`` (the study's category
   set), ``images/`` (the photos), ``study.toml`` / ``study.json`` (a study file, which then
   names the annotators itself), READMEs, notes, licences and documents (``.md``, ``.txt``,
   ``.pdf``, ...).
3. An **annotator** is an export file (``.json`` / ``.xml`` whose content is a COCO panoptic,
   COCO instances, CVAT for images or Label Studio export) or a folder holding exactly one
   export, directly or in its ``annotations/`` sub-folder. A folder named like an export file
   (``alice/`` beside ``alice.json``) is that export's PNG folder.
4. Without any export, folders of PNG / ``.npy`` label maps are the annotators; without those
   either, ``.mat`` files make the folder a BSDS ground-truth folder. Beside exports, label-map
   folders and ``.mat`` files are skipped: one stray file never decides the format of the study.
5. Everything else is skipped: a ``.json`` that is valid JSON but not an export, an ``.xml`` that
   is not a CVAT export, other files, folders without an export.

Every skipped entry is listed in one note (:meth:`Discovery.note`). A ``.json`` / ``.xml`` file
that cannot be parsed is not skipped: it may be a broken export, so it stops the run, named.
Two exports in one annotator folder, or two entries giving the same annotator name, are an
error naming both.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import FormatError, StudyError
from ._sniff import detect_format, sniff

__all__ = [
    "CATEGORIES_FILE",
    "PHOTOS_DIR",
    "STUDY_FILE_KEYS",
    "STUDY_FILE_NAMES",
    "Discovery",
    "Found",
    "Skipped",
    "detect_format",
    "discover_folder",
    "export_file",
    "shown",
    "sniff",
]

#: Names tried, in order, when a study folder holds its own study file.
STUDY_FILE_NAMES = ("study.toml", "study.json")
#: The keys a study file may hold (see :mod:`agreement.io.study_file`).
STUDY_FILE_KEYS = frozenset({"name", "annotators", "exports", "images", "images_dir",
                             "categories", "align", "missing_exports"})
#: The study folder's shared category set.
CATEGORIES_FILE = "categories.json"
#: The folder of photos (in or beside the study folder).
PHOTOS_DIR = "images"
#: Where an annotator folder may keep its export (CVAT and Datumaro COCO zips do).
EXPORT_SUBDIR = "annotations"

_SYSTEM = {"__macosx", "thumbs.db", "desktop.ini", "$recycle.bin", "system volume information"}
_BACKUP_SUFFIXES = {".bak", ".swp", ".swo", ".swx", ".tmp", ".temp", ".orig", ".old", ".part",
                    ".crdownload", ".rej"}
_COMPANION_STEMS = {"readme", "notes", "note", "license", "licence", "copying", "changelog",
                    "authors", "citation", "guidelines", "guideline"}
_DOC_SUFFIXES = {".md", ".txt", ".rst", ".pdf", ".doc", ".docx", ".odt", ".rtf", ".html", ".htm"}
_EXPORT_SUFFIXES = (".json", ".xml")
_LABEL_SUFFIXES = (".png", ".npy")


def shown(path: str | os.PathLike[str]) -> str:
    """A path as text that can always be printed (undecodable bytes as ``\\xNN``)."""
    text = os.fspath(path)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class Found:
    """One annotator entry: ``name`` (the entry's), its export ``path`` and ``format``."""

    name: str
    path: Path
    format: str


@dataclass(frozen=True)
class Skipped:
    """An entry left out of the study and why."""

    path: Path
    reason: str


@dataclass(frozen=True)
class Discovery:
    """What a study path holds, sorted by the rules of this module.

    Attributes
    ----------
    root : Path
        The study folder (or the study file / export given).
    kind : {"folder", "label_maps", "bsds", "study_file", "export", "mapping"}
        A folder of exports, of label-map folders, a BSDS folder of ``.mat`` files, a study
        file, one export holding several annotators, or a ``{annotator: path}`` mapping.
    annotators : tuple of Found
        The annotator entries, in order (an export holding several annotators is one entry).
    categories : Path or None
        The ``categories.json`` used as the study's category set.
    images_dir : Path or None
        The ``images/`` folder of photos in the study folder.
    study_file : Path or None
    companions : tuple of Path
        Known companions that are not read (READMEs, notes, licences, documents).
    skipped : tuple of Skipped
        Entries left out, with the reason.
    """

    root: Path
    kind: str
    annotators: tuple[Found, ...]
    categories: Path | None = None
    images_dir: Path | None = None
    study_file: Path | None = None
    companions: tuple[Path, ...] = ()
    skipped: tuple[Skipped, ...] = ()

    def _rel(self, path: Path) -> str:
        base = self.root.parent if self.kind in ("study_file", "export") else self.root
        try:
            text = str(path.relative_to(base))
        except ValueError:
            text = str(path)
        return shown(text) + ("/" if path.is_dir() else "")

    def note(self) -> str | None:
        """One line naming every skipped entry, grouped by reason; None when none was skipped.

        Examples
        --------
        >>> d = Discovery(Path("s"), "folder", (), skipped=(Skipped(Path("s/.DS_Store"),
        ...               "hidden or system file"), Skipped(Path("s/x.json"), "not an export")))
        >>> d.note()
        'skipped 2 entries of s: .DS_Store (hidden or system file); x.json (not an export)'
        """
        if not self.skipped:
            return None
        groups: dict[str, list[str]] = {}
        for s in self.skipped:
            groups.setdefault(s.reason, []).append(self._rel(s.path))
        parts = [f"{', '.join(names)} ({reason})" for reason, names in groups.items()]
        n = len(self.skipped)
        return f"skipped {n} {'entry' if n == 1 else 'entries'} of {shown(self.root)}: " + \
            "; ".join(parts)

    def rows(self) -> list[dict[str, str | None]]:
        """One row per entry: ``entry``, ``role``, ``format``, ``detail`` (for tables / JSON)."""
        rows: list[dict[str, str | None]] = []
        for f in self.annotators:
            rows.append({"entry": self._rel(f.path), "role": "annotator", "format": f.format,
                         "detail": shown(f.name)})
        for path, role in ((self.study_file, "study file"), (self.categories, "categories"),
                           (self.images_dir, "photos")):
            if path is not None:
                rows.append({"entry": self._rel(path), "role": role, "format": None,
                             "detail": None})
        rows += [{"entry": self._rel(p), "role": "companion", "format": None,
                  "detail": "not read"} for p in self.companions]
        rows += [{"entry": self._rel(s.path), "role": "skipped", "format": None,
                  "detail": s.reason} for s in self.skipped]
        return rows


def _ignored(name: str) -> str | None:
    """Why an entry named ``name`` is skipped whatever it holds, or None."""
    lower = name.lower()
    if name.startswith(".") or lower in _SYSTEM or name.startswith("._"):
        return "hidden or system file"
    if (name.endswith("~") or name.startswith("~$") or (name.startswith("#") and
                                                       name.endswith("#"))
            or Path(lower).suffix in _BACKUP_SUFFIXES):
        return "editor backup or partial download"
    return None


def _is_companion(path: Path) -> bool:
    stem = path.name.lower().split(".", 1)[0]
    return stem in _COMPANION_STEMS or path.suffix.lower() in _DOC_SUFFIXES


def _exports_in(folder: Path) -> tuple[list[Found], list[Skipped]]:
    """Export files directly in ``folder`` (not categories.json), and the non-exports among the
    ``.json`` / ``.xml`` files there."""
    found, skipped = [], []
    for p in sorted(folder.iterdir()):
        if (not p.is_file() or p.suffix.lower() not in _EXPORT_SUFFIXES
                or p.name == CATEGORIES_FILE or _ignored(p.name)):
            continue
        fmt = sniff(p)
        if fmt is None:
            skipped.append(Skipped(p, _not_export(p)))
        else:
            found.append(Found(p.stem, p, fmt))
    return found, skipped


def _not_export(path: Path) -> str:
    if path.suffix.lower() == ".xml":
        return "XML, not a CVAT export"
    if path.name.lower() in STUDY_FILE_NAMES or path.suffix.lower() == ".toml":
        return "a study file: pass it as the study to use it"
    try:
        doc = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (OSError, ValueError):
        return "JSON, not an export"
    if isinstance(doc, dict) and "annotators" in doc and set(doc) <= STUDY_FILE_KEYS:
        return "a study file: pass it as the study to use it"
    if isinstance(doc, dict) and set(doc) == {"categories"}:
        return f"categories: only {CATEGORIES_FILE} is read as the study's category set"
    return "JSON, not an export"


def _holds_annotators(folder: Path) -> bool:
    """Whether a sub-folder of ``folder`` holds an export (``folder`` is a study folder)."""
    for sub in sorted(folder.iterdir()):
        if sub.is_dir() and not _ignored(sub.name) and sub.name != PHOTOS_DIR:
            try:
                if _exports_in(sub)[0]:
                    return True
            except FormatError:  # a broken file down there: not this folder's business
                continue
    return False


def _has_suffix(folder: Path, suffixes: Iterable[str]) -> bool:
    wanted = tuple(suffixes)
    return any(p.is_file() and p.suffix.lower() in wanted and not _ignored(p.name)
               for p in folder.iterdir())


def export_file(folder: Path) -> tuple[Found | None, str | None, list[Skipped]]:
    """The export an annotator folder holds: ``(found, folder_format, skipped)``.

    ``found`` is the one export directly in ``folder`` or in its ``annotations/`` sub-folder;
    without one, ``folder_format`` is ``"label_maps"`` (PNG / ``.npy`` maps) or ``"bsds"``
    (``.mat`` files) or None (nothing usable). ``skipped`` lists the non-export ``.json`` /
    ``.xml`` files seen.

    Raises
    ------
    StudyError
        Two exports in the folder (ambiguous).
    """
    found, skipped = _exports_in(folder)
    sub = folder / EXPORT_SUBDIR
    if not found and sub.is_dir():
        found, more = _exports_in(sub)
        skipped += more
    if len(found) > 1:
        names = ", ".join(f"{shown(f.path.relative_to(folder))!s} ({f.format})" for f in found)
        raise StudyError(f"annotator folder {shown(folder)!r} must hold one export, got "
                         f"{len(found)}: {names}; move all but one out, or name each in a study "
                         "file")
    if found:
        return found[0], None, skipped
    if _has_suffix(folder, _LABEL_SUFFIXES):
        return None, "label_maps", skipped
    if _has_suffix(folder, (".mat",)):
        return None, "bsds", skipped
    return None, None, skipped


def discover_folder(root: str | os.PathLike[str], *, format: str | None = None) -> Discovery:
    """Sort the entries of a study folder into annotators, companions and skipped entries.

    Parameters
    ----------
    root
        The study folder (one export or export folder per annotator).
    format
        ``"label_maps"`` or ``"bsds"`` to take those annotators even beside exports; other
        formats only force the reader, not what counts as an export.

    Returns
    -------
    Discovery
        ``kind`` is ``"folder"`` (exports), ``"label_maps"`` or ``"bsds"``.

    Raises
    ------
    StudyError
        Nothing usable in the folder (the error lists what was skipped), two exports in one
        annotator folder, or two entries with the same annotator name.
    FormatError
        A ``.json`` / ``.xml`` entry that cannot be parsed (it may be a broken export).
    """
    root = Path(root)
    entries = sorted(root.iterdir())
    seen = _Sorted({p.name for p in entries if p.is_file() and p.suffix.lower() == ".json"})
    for p in entries:
        seen.add(p)
    seen.claim_png_folder(root)
    skipped = seen.skipped
    kind, annotators = _choose(root, format, seen.exports, seen.maps, seen.bsds_dirs, seen.mats,
                               skipped)
    _check_unique(annotators)
    if kind != "bsds":
        beside = "exports" if kind == "folder" else "label maps"
        skipped += [Skipped(p, f".mat file beside {beside}") for p in seen.mats]
    return Discovery(root, kind, tuple(annotators), seen.categories, seen.images_dir, None,
                     tuple(seen.companions), tuple(sorted(skipped, key=lambda s: s.path)))


@dataclass
class _Sorted:
    """The entries of a study folder sorted by kind, as they are read (rules 1-3, 5)."""

    json_files: set[str]
    exports: list[Found] = field(default_factory=list)
    maps: list[Found] = field(default_factory=list)
    bsds_dirs: list[Found] = field(default_factory=list)
    mats: list[Path] = field(default_factory=list)
    companions: list[Path] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    categories: Path | None = None
    images_dir: Path | None = None

    def add(self, p: Path) -> None:
        why = _ignored(p.name)
        if why:
            self.skipped.append(Skipped(p, why))
        elif p.is_dir():
            self._folder(p)
        elif p.name == CATEGORIES_FILE:
            self.categories = p
        elif p.suffix.lower() in _EXPORT_SUFFIXES:
            fmt = sniff(p)
            if fmt is not None:
                self.exports.append(Found(p.stem, p, fmt))
            elif _is_companion(p):
                self.companions.append(p)  # notes.json, README.xml: not an export, as expected
            else:
                self.skipped.append(Skipped(p, _not_export(p)))
        elif p.suffix.lower() == ".mat":
            self.mats.append(p)
        elif _is_companion(p):
            self.companions.append(p)
        else:
            why = _not_export(p) if p.suffix.lower() == ".toml" else "not an export"
            self.skipped.append(Skipped(p, why))

    def claim_png_folder(self, root: Path) -> None:
        """``png/`` beside a COCO panoptic export that has no folder of its own (``X/`` beside
        ``X.json``) is that export's PNG folder, as its reader takes it: not label maps."""
        if any(f.format == "coco_panoptic" and f.path.parent == root
               and not f.path.with_suffix("").is_dir() for f in self.exports):
            self.maps = [m for m in self.maps if m.path != root / "png"]

    def _folder(self, p: Path) -> None:
        if p.name == PHOTOS_DIR:
            self.images_dir = p
            return
        found, kind, more = export_file(p)
        self.skipped += more
        if found is not None:
            self.exports.append(Found(p.name, found.path, found.format))
        elif f"{p.name}.json" in self.json_files:
            pass  # the PNG folder of the export p.name + ".json"
        elif kind == "label_maps":
            self.maps.append(Found(p.name, p, "label_maps"))
        elif kind == "bsds":
            self.bsds_dirs.append(Found(p.name, p, "bsds"))
        elif _holds_annotators(p):
            self.skipped.append(Skipped(p, "a study folder itself: pass it as the study"))
        else:
            self.skipped.append(Skipped(p, "folder without an export"))


def _choose(root: Path, format: str | None, exports: list[Found], maps: list[Found],
            bsds_dirs: list[Found], mats: list[Path], skipped: list[Skipped]
            ) -> tuple[str, list[Found]]:
    """Which entries are the annotators (rule 4 of the module notes)."""
    if format == "bsds":
        if not mats:
            raise StudyError(f"BSDS folder {shown(root)!r} must hold .mat files, got none")
        skipped += [Skipped(f.path, "beside a BSDS folder") for f in exports + maps + bsds_dirs]
        return "bsds", [Found(root.name, root, "bsds")]
    if format == "label_maps":
        if not maps:
            raise StudyError(f"study folder {shown(root)!r} must hold folders of label maps "
                             "(format 'label_maps'), got none")
        skipped += [Skipped(f.path, "export beside label maps (format 'label_maps')")
                    for f in exports + bsds_dirs]
        return "label_maps", maps
    if exports or bsds_dirs:
        why = "label maps beside exports: name them in a study file to use them"
        skipped += [Skipped(f.path, why) for f in maps]
        return "folder", exports + bsds_dirs
    if maps:
        return "label_maps", maps
    if mats:
        return "bsds", [Found(root.name, root, "bsds")]
    listed = "; ".join(f"{shown(s.path.name)} ({s.reason})" for s in skipped[:8])
    raise StudyError(f"study folder {shown(root)!r} must hold annotator exports, got none (an "
                     "annotator is an export file, or a folder holding one)"
                     + (f"; skipped: {listed}" if listed else ""))


def _check_unique(annotators: list[Found]) -> None:
    seen: dict[str, Found] = {}
    for f in annotators:
        if f.name in seen:
            raise StudyError(f"annotator names must be unique, got {f.name!r} from both "
                             f"{shown(seen[f.name].path)!r} and {shown(f.path)!r}; rename one")
        seen[f.name] = f
