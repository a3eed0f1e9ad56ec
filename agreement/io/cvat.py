"""CVAT for images 1.1 XML as panoptic maps.

Parsed with ``defusedxml`` (DTDs, entity declarations and external references are refused, so a
"billion laughs" or external-entity file is never expanded). Read: ``<polygon>`` (pixel
coordinates, implicitly closed, rasterised by pycocotools) and ``<mask>`` (CVAT's run-length code:
runs alternate background / foreground, row-major over the ``left, top, width, height`` box);
``z_order`` (may be negative; higher on top), ``occluded`` (kept as a flag), ``group_id`` (shapes
of one group and label form one segment). Labels come from the meta section (skeleton sub-labels
and tag labels excluded). Boxes, points, polylines, tags, skeletons, ellipses, cuboids and video
tracks have no area: they are skipped and counted in one ``skipped_shape`` finding per kind.

Image names repeated within one task in different subsets (project exports restart frame ids
per subset) are read as ``<subset>:<name>`` (not a path, so a study keeps them apart).

Annotators: a job export names its assignee (used as the annotator). A project export whose
images appear in several tasks (the same images annotated by several people) is split by task:
the annotator is the task's assignee (``task-<id>`` when empty), tasks of one assignee merge.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeET
import numpy as np

from .._checks import short
from ..errors import AnnotationError, FormatError
from ..findings import Finding
from ..model import Categories, ImageInfo, ToolRef
from ._files import _open_file, read_bytes
from ._guard import reader_errors
from ._limits import Limits, check_image_size, resolve_limits
from ._shapes import (
    BoxMask,
    Polygons,
    Refused,
    Rename,
    Shape,
    apply_rename,
    check_polygon,
    resolve_categories,
)
from ._toolref import cvat_refs
from .layers import Order, ShapeSource, ShapeStore

__all__ = ["parse_cvat_xml", "read_cvat", "read_cvat_sources"]

_SKIPPED = ("box", "polyline", "points", "tag", "skeleton", "ellipse", "cuboid")
_NOT_CLASSES = ("skeleton", "tag")


def parse_cvat_xml(path: str | os.PathLike[str], *, limits: Limits | None = None) -> Element:
    """Parse a CVAT XML safely; refuse DTDs / entities / external references.

    Raises
    ------
    FormatError
        Not well-formed XML (e.g. truncated), an unknown encoding, a file beyond
        ``max_file_bytes``, or a DTD / entity declaration (refused unexpanded).
    """
    raw = read_bytes(path, what="XML file", limits=limits)
    try:
        return SafeET.fromstring(raw, forbid_dtd=True, forbid_entities=True,
                                 forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        raise FormatError(f"XML must not declare a DTD or entities (refused, not expanded: "
                          f"possible entity-expansion or external-entity attack), got {exc!r}",
                          file=str(path)) from None
    except ParseError as exc:
        raise FormatError(f"file must be well-formed XML, got {exc}", file=str(path)) from None
    except (LookupError, UnicodeError) as exc:  # an encoding declaration Python does not know
        raise FormatError(f"XML must be in a known encoding, got {exc}",
                          file=str(path)) from None


def _text(el: Element | None, path: str) -> str:
    if el is None:
        return ""
    found = el.find(path)
    return (found.text or "").strip() if found is not None else ""


def _person(el: Element | None) -> str:
    """username, else email, of an ``<owner>`` / ``<assignee>`` element ('' when empty)."""
    return _text(el, "username") or _text(el, "email") if el is not None else ""


def _meta(root: Element) -> tuple[str, Element | None]:
    meta = root.find("meta")
    for kind in ("job", "task", "project"):
        el = meta.find(kind) if meta is not None else None
        if el is not None:
            return kind, el
    return "none", None


def _labels(top: Element | None) -> list[str]:
    if top is None:
        return []
    names = []
    for lab in top.iterfind("labels/label"):
        if lab.find("parent") is not None or _text(lab, "type") in _NOT_CLASSES:
            continue
        names.append(_text(lab, "name"))
    return names


_INT = re.compile(r"-?[0-9]{1,18}")
# a decimal number (NaN and infinities pass, to be refused as not finite by check_polygon)
_FLOAT = re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?|nan|inf|"
                    r"infinity)", re.IGNORECASE)
_DIGITS = re.compile(r"[0-9]{1,18}")


def _int(el: Element, key: str, default: int | None, **where: Any) -> int:
    """An integer attribute, written as plain ASCII digits (no '+', '_', spaces or other
    scripts' digits), of at most 18 digits."""
    raw = el.get(key)
    if raw is None:
        if default is None:
            raise FormatError(f"<{el.tag}> must have a {key!r} attribute, got none", **where)
        return default
    if not _INT.fullmatch(raw):
        raise FormatError(f"<{el.tag}> attribute {key!r} must be an integer, got {short(raw)}",
                          **where)
    return int(raw)


def read_cvat_sources(
    xml_path: str | os.PathLike[str],
    *,
    categories: Categories | str | os.PathLike[str] | None = None,
    stuff: tuple[str, ...] | list[str] = (),
    split: Literal["auto", "none", "task"] = "auto",
    order: Order = "file",
    rename: Rename = None,
    limits: Limits | None = None,
) -> dict[str, ShapeSource]:
    """Read a CVAT for images 1.1 XML: one source per annotator it holds.

    Parameters
    ----------
    xml_path
    categories
        Authoritative categories (matched by label name); default: the meta labels, ids 1, 2, ...
        in meta order (as CVAT's COCO export numbers them).
    stuff
        Label names that are stuff.
    split : {"auto", "none", "task"}
        ``auto`` splits a project export by task when an image name appears in several tasks;
        ``task`` always splits by task; ``none`` never (a repeated image name is then an error).
    order : {"file", "smaller_on_top"}
        Layer tie-break after z_order.
    rename : mapping or callable, optional
        Maps the XML's image names to the names the study aligns on.
    limits : Limits, optional
        Largest sizes accepted (default: :meth:`Limits.from_env`).

    Returns
    -------
    dict of str to ShapeSource
        Annotator -> source. One entry, keyed by the job assignee or else the file stem, when
        the file holds one annotator.

    Raises
    ------
    FormatError
        Unsafe or malformed XML, missing attributes, numbers that are not plain ASCII decimals.
        Any other failure while reading is an ``UnexpectedInputError`` (a FormatError).
    AnnotationError
        A coordinate that is not a finite number, a size beyond ``limits`` (image, mask box,
        polygon), a mask whose runs do not cover its box, an image name repeated within one
        annotator.

    Examples
    --------
    >>> sources = read_cvat_sources("project_export.xml", stuff=["road"])  # doctest: +SKIP
    >>> {name: len(src.images) for name, src in sources.items()}  # doctest: +SKIP
    {'alice': 120, 'bob': 120}
    """
    path = Path(xml_path)
    file = str(path)
    limits = resolve_limits(limits)
    with reader_errors("CVAT XML", file=file):
        # two streaming reads, each element cleared once handled: the file is never held whole
        # (a 40 MB export made ~0.5 GB of elements). The first reads the meta section and each
        # image's name, task and subset (the annotators, repeated names); the second the shapes.
        scan = _scan(path, limits)
        kind, top = _meta(scan.root)
        labels = _labels(top) or list(scan.labels)  # old exports: the labels shapes use
        cats = resolve_categories(labels, categories=categories, stuff=stuff, file=file)
        groups, group_of = _annotators(scan, kind, top, split, path)
        refs = cvat_refs(kind, top)
        builders = {name: _Source(cats, annotator=annotator, file=file, order=order,
                                  name=file if len(groups) == 1 else f"{file}#{name}",
                                  rename=rename, limits=limits, ref=refs,
                                  repeated=repeated)
                    for name, (annotator, repeated) in groups.items()}
        k = 0
        for el in _children(path, limits):
            if el.tag == "image":
                if k < len(group_of):
                    builders[group_of[k]].add(el)
                k += 1
        if k != len(group_of):
            raise FormatError("file must not change while it is read, got another number of "
                              "<image> elements on its second read", file=file)
        out = {name: b.finish() for name, b in builders.items()}
    if scan.tracks:
        for src in out.values():
            src.findings.append(Finding.of("skipped_shape", f"{scan.tracks} <track> element(s) "
                                           "(CVAT for video) skipped", annotator=src.annotator,
                                           file=file))
    return out


def _children(path: Path, limits: Limits) -> Iterator[Element]:
    """The children of the XML's root, each once read whole, then cleared (with
    ``defusedxml``'s refusals, and :func:`parse_cvat_xml`'s errors); the root must be
    ``<annotations>``."""
    file = str(path)
    with _open_file(path, "XML file", limits) as fh:
        events = SafeET.iterparse(fh, events=("start", "end"), forbid_dtd=True,
                                  forbid_entities=True, forbid_external=True)
        depth, root = 0, None
        while True:
            try:
                event, el = next(events)
            except StopIteration:
                return
            except defusedxml.DefusedXmlException as exc:
                raise FormatError(f"XML must not declare a DTD or entities (refused, not "
                                  f"expanded: possible entity-expansion or external-entity "
                                  f"attack), got {exc!r}", file=file) from None
            except ParseError as exc:
                raise FormatError(f"file must be well-formed XML, got {exc}", file=file) from None
            except (LookupError, UnicodeError) as exc:  # an encoding Python does not know
                raise FormatError(f"XML must be in a known encoding, got {exc}",
                                  file=file) from None
            if event == "start":
                if root is None:
                    root = el
                depth += 1
                continue
            depth -= 1
            if depth == 1:
                yield el
                root.clear()  # the element just handled, and any before it
            elif depth == 0 and root.tag != "annotations":
                raise FormatError(f"CVAT XML root must be <annotations>, got "
                                  f"<{short(root.tag)}>", file=file)


@dataclass
class _Scan:
    """What the first read keeps: a root holding the meta section only, each image's name,
    task id and subset (in file order), the labels the shapes use (in order of first use) and
    the number of ``<track>`` elements."""

    root: Element
    names: list[str | None] = field(default_factory=list)
    tasks: list[str | None] = field(default_factory=list)
    subsets: list[str | None] = field(default_factory=list)
    labels: dict[str, None] = field(default_factory=dict)
    tracks: int = 0


def _scan(path: Path, limits: Limits) -> _Scan:
    out = _Scan(Element("annotations"))
    for el in _children(path, limits):
        if el.tag == "meta" and out.root.find("meta") is None:
            out.root.append(el)  # kept (the root lets go of its children)
        elif el.tag == "image":
            out.names.append(el.get("name"))
            out.tasks.append(el.get("task_id"))
            out.subsets.append(el.get("subset"))
            for sh in el:
                if sh.tag in ("polygon", "mask") and sh.get("label"):
                    out.labels.setdefault(sh.get("label", ""), None)
        elif el.tag == "track":
            out.tracks += 1
    return out


def _annotators(scan: _Scan, kind: str, top: Element | None, split: str, path: Path
                ) -> tuple[dict[str, tuple[str | None, set[str | None]]], list[str]]:
    """The annotators (name -> (annotator, the image names repeated within it)), in order of
    first image, and each image's annotator."""
    tasks_of: dict[str | None, set[str | None]] = {}
    for name, task in zip(scan.names, scan.tasks, strict=True):
        tasks_of.setdefault(name, set()).add(task)
    repeated = any(len(t) > 1 for t in tasks_of.values())  # one image in several tasks
    by_task = split == "task" or (split == "auto" and repeated and kind == "project")
    if not by_task:
        who = _person(top.find("assignee")) if kind == "job" and top is not None else ""
        key = who or path.stem
        return ({key: (who or None, _repeated(scan.names))}, [key] * len(scan.names))
    assignees = {}
    if top is not None:
        for t in top.iterfind("tasks/task"):
            assignees[_text(t, "id")] = _person(t.find("assignee"))
    who_of: dict[str, str | None] = {}
    names: dict[str, list[str | None]] = {}
    group_of = []
    for name, tid in zip(scan.names, scan.tasks, strict=True):
        if tid is None:
            raise FormatError("<image> must have a task_id attribute to split by task, got none",
                              file=str(path), image=name)
        who = assignees.get(tid) or ""
        key = who or f"task-{tid}"
        who_of.setdefault(key, who or None)
        names.setdefault(key, []).append(name)
        group_of.append(key)
    return {key: (who_of[key], _repeated(names[key])) for key in who_of}, group_of


def _repeated(names: list[str | None]) -> set[str | None]:
    return {n for n, c in Counter(names).items() if c > 1}


class _Source:
    """One annotator's source, built an ``<image>`` element at a time (:meth:`add`)."""

    def __init__(self, cats: Categories, *, annotator: str | None, file: str, order: Order,
                 name: str, rename: Rename, limits: Limits,
                 ref: Callable[[Element], ToolRef] | None, repeated: set[str | None]) -> None:
        self.cats, self.annotator, self.file, self.order = cats, annotator, file, order
        self.name, self.rename, self.limits, self.ref = name, rename, limits, ref
        self.repeated = repeated
        self.by_name = {c.name: c for c in cats.values()}
        self.infos: list[ImageInfo] = []
        self.shapes = ShapeStore()  # each image's shapes to a temporary file as they are read
        self.findings: list[Finding] = []
        self.skipped: Counter[str] = Counter()
        self.seen: set[str] = set()

    def add(self, el: Element) -> None:
        file, annotator = self.file, self.annotator
        iname = el.get("name")
        if not iname:
            raise FormatError("<image> must have a name attribute, got none", file=file)
        if iname in self.repeated and el.get("subset"):
            iname = f"{el.get('subset')}:{iname}"  # project exports: ids and names per subset
        iname = apply_rename(iname, self.rename)
        loc = {"file": file, "image": iname, "annotator": annotator}
        info = ImageInfo(iname, _int(el, "height", None, **loc), _int(el, "width", None, **loc),
                         _int(el, "id", -1, **loc), self.ref(el) if self.ref is not None else None)
        if info.height <= 0 or info.width <= 0:
            raise AnnotationError(f"image size must be positive, got {info.width}x{info.height}",
                                  **loc)
        check_image_size(info.width, info.height, self.limits, **loc)
        if iname in self.seen:
            raise AnnotationError("image name must appear once per annotator, got it twice (pass "
                                  "split='task' to split a project export by task)", **loc)
        self.seen.add(iname)
        self.infos.append(info)
        self.shapes.add(iname, _image_shapes(el, info, self.by_name, loc, self.findings,
                                             self.skipped, self.limits))

    def finish(self) -> ShapeSource:
        for tag, count in sorted(self.skipped.items()):
            self.findings.append(Finding.of("skipped_shape", f"{count} <{tag}> shape(s) have no "
                                            "area; skipped", annotator=self.annotator,
                                            file=self.file))
        return ShapeSource(self.name, self.cats, self.infos, self.shapes,
                           annotator=self.annotator, findings=self.findings, order=self.order,
                           format="cvat", file=self.file)


def _image_shapes(el: Element, info: ImageInfo, by_name: dict, loc: dict,
                  findings: list[Finding], skipped: Counter[str], limits: Limits) -> list[Shape]:
    out: list[Shape] = []
    counters: Counter[str] = Counter()
    for n, sh in enumerate(el):
        counters[sh.tag] += 1
        if sh.tag in _SKIPPED:
            skipped[sh.tag] += 1
            continue
        if sh.tag not in ("polygon", "mask"):
            continue
        label = sh.get("label", "")
        where = {**loc, "shape": f"{sh.tag} #{counters[sh.tag]}"}
        if label not in by_name:
            findings.append(Finding.of("unknown_label", f"label {label!r} is not in the "
                                       "category set; shape left out", **where))
            continue
        geom = _polygon(sh, info, where, findings, limits) if sh.tag == "polygon" else _mask(
            sh, info, where, findings, limits)
        if geom is None:
            continue
        cat = by_name[label]
        group = _int(sh, "group_id", 0, **where)
        out.append(Shape(where["shape"], label, cat.id, cat.isthing, geom, order=n,
                         z_order=_int(sh, "z_order", 0, **where), group=group or None,
                         occluded=sh.get("occluded", "0") in ("1", "true", "True")))
    return out


def _polygon(sh: Element, info: ImageInfo, where: dict, findings: list,
             limits: Limits) -> Polygons | None:
    raw = sh.get("points", "")
    if raw.count(";") >= limits.max_vertices:
        raise AnnotationError(f"polygon must have at most {limits.max_vertices:,} vertices "
                              f"(max_vertices; {limits.hint('max_vertices')}), got "
                              f"{raw.count(';') + 1:,}", **where)
    values = [v.strip() for pair in raw.split(";") if pair.strip() for v in pair.split(",")]
    if not all(_FLOAT.fullmatch(v) for v in values):
        raise AnnotationError(f"polygon points must be 'x,y;x,y;...' numbers, got {short(raw)}",
                              **where)
    if len(values) % 2:
        raise AnnotationError(f"polygon points must be (x, y) pairs, got {len(values)} numbers",
                              **where)
    pts, found = check_polygon([float(v) for v in values], width=info.width,
                               height=info.height, where=where, limits=limits)
    findings += found
    return Polygons((pts,)) if pts is not None else None


def _mask(sh: Element, info: ImageInfo, where: dict, findings: list,
          limits: Limits) -> BoxMask | Refused:
    left, top = _int(sh, "left", None, **where), _int(sh, "top", None, **where)
    width, height = _int(sh, "width", None, **where), _int(sh, "height", None, **where)
    if width <= 0 or height <= 0:
        raise AnnotationError(f"mask box must be non-empty, got {width}x{height}", **where)
    check_image_size(width, height, limits, what="mask box", **where)
    total = width * height
    raw = sh.get("rle", "")
    if raw.count(",") > total:
        raise AnnotationError(f"mask rle must have at most {total + 1} runs for its {width}x"
                              f"{height} box, got {raw.count(',') + 1}", **where)
    parts = [v.strip() for v in raw.split(",") if v.strip()]
    if not all(_DIGITS.fullmatch(v) for v in parts):
        bad = next(v for v in parts if not _DIGITS.fullmatch(v))
        raise AnnotationError(f"mask rle must be comma-separated integers >= 0, got "
                              f"{short(bad)}", **where)
    runs = [int(v) for v in parts]
    covered = sum(runs)  # Python ints: no wrap-around
    if covered != total:  # refused when its image is painted: validate goes on (see Refused)
        longer = "longer" if covered > total else "shorter"
        return Refused(f"mask rle runs must cover its {width}x{height} box exactly ({total} "
                       f"px), got {covered} px ({longer})", tuple(where.items()))
    if left < 0 or top < 0 or left + width > info.width or top + height > info.height:
        findings.append(Finding.of("outside_image", f"mask box {left},{top} {width}x{height} "
                                   f"leaves the {info.width}x{info.height} image; clipped",
                                   **where))
    return BoxMask(np.asarray(runs, dtype=np.int64), left, top, width, height)


def read_cvat(xml_path: str | os.PathLike[str], **options: Any) -> ShapeSource:
    """Read a CVAT XML holding one annotator (options as :func:`read_cvat_sources`).

    Raises
    ------
    AnnotationError
        The file holds several annotators: use :func:`read_cvat_sources` or ``load_study``.

    Examples
    --------
    >>> src = read_cvat("job_12/annotations.xml")  # doctest: +SKIP
    >>> src.annotator, src.findings_frame()["kind"].value_counts()  # doctest: +SKIP
    """
    sources = read_cvat_sources(xml_path, **options)
    if len(sources) != 1:
        raise AnnotationError(f"export must hold one annotator, got {len(sources)} "
                              f"({sorted(sources)}); use read_cvat_sources or load_study",
                              file=str(xml_path))
    return next(iter(sources.values()))
