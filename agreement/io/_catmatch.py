"""Match the categories of a study's exports by name when they differ only in numbering.

CVAT and Label Studio carry no category ids (their readers number labels: CVAT in the file's label
order, Label Studio by sorted name) and no thing / stuff flag (every label is a thing); COCO
files carry ids, COCO panoptic also ``isthing`` (optional in COCO instances). A study mixing
tools then defines one id twice or one name under two ids. When no category set is given, the
study's set is built from the exports by name (:func:`shared_categories`) and the exports whose
reader takes ``categories=`` are read again with it; a COCO panoptic export keeps its ids.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import NamedTuple

from ..categories import Categories, Category
from ..errors import AnnotationError, StudyError
from ..model import AnnotationSource, merge_categories

__all__ = ["CATEGORIES_HINT", "Export", "flag_note", "match_by_name", "shared_categories",
           "stated_flags"]

#: What a CLI user can do about categories the exports do not agree on.
CATEGORIES_HINT = ("put a categories.json in the study folder (a COCO categories list, e.g. "
                   '[{"id": 1, "name": "car", "isthing": 1}, {"id": 2, "name": "road", '
                   '"isthing": 0}]), give a study file\'s categories, or pass categories= in '
                   "Python")

_KIND = {True: "a thing", False: "stuff"}

Expanded = Mapping[str, Mapping[str | None, AnnotationSource]]


class Export(NamedTuple):
    """One annotator's source, in study order, and whether its reader takes ``categories=``."""

    annotator: str
    source: AnnotationSource
    renumberable: bool


def stated_flags(source: AnnotationSource) -> frozenset[str] | None:
    """Names whose thing / stuff the export states (COCO ``isthing``); None when the source
    does not say (label maps, BSDS)."""
    return getattr(source, "isthing_given", None)


def _place(export: Export) -> str:
    return f"annotator {export.annotator!r}, file {export.source.name!r}"


def _fixed_ids(exports: Sequence[Export]) -> dict[str, Category]:
    """The categories of the exports that keep their ids (COCO panoptic), in study order."""
    cats: dict[str, Category] = {}
    owner: dict[str, Export] = {}
    name_of: dict[int, str] = {}
    for e in exports:
        if e.renumberable:
            continue
        for cat in e.source.categories.values():
            known = cats.get(cat.name)
            other = name_of.get(cat.id)
            if known is None and other is None:
                cats[cat.name], owner[cat.name], name_of[cat.id] = cat, e, cat.name
            elif known is None or known.id != cat.id:
                was = (f"category {cat.id} must be {other!r} as in {_place(owner[other])}"
                       if known is None else f"category {cat.name!r} must have id {known.id} "
                       f"as in {_place(owner[cat.name])}")
                raise StudyError(
                    f"{_place(e)}: {was}, got {cat.name!r} with id {cat.id} (COCO panoptic "
                    "files keep their category ids: make the two files number their categories "
                    "alike, in 'categories' and each segments_info 'category_id')")
    return cats


def _flags(exports: Sequence[Export]) -> dict[str, bool]:
    """Thing / stuff of each name some export states; two that disagree are an error."""
    flags: dict[str, tuple[bool, Export]] = {}
    for e in exports:
        given = stated_flags(e.source) or frozenset()
        for cat in e.source.categories.values():
            if cat.name not in given:
                continue
            seen = flags.setdefault(cat.name, (cat.isthing, e))
            if seen[0] != cat.isthing:
                fix = (f"correct one of them, or {CATEGORIES_HINT}" if e.renumberable or
                       seen[1].renumberable else "COCO panoptic files keep their categories: "
                       "correct the isthing of one of them")
                raise StudyError(
                    f"{_place(e)}: category {cat.name!r} must be {_KIND[seen[0]]} as in "
                    f"{_place(seen[1])}, got {_KIND[cat.isthing]} (both files state isthing: "
                    f"{fix})")
    return {name: thing for name, (thing, _) in flags.items()}


def shared_categories(exports: Sequence[Export]) -> Categories:
    """The category set of a study whose exports are matched by name.

    The categories of the exports that keep their ids (COCO panoptic) come first, in study
    order; then every other name, in the first export's order, then the next's new names, with
    ids after the largest id. A name's thing / stuff is the one an export states (COCO
    ``isthing``), else its reader's (a thing unless ``stuff=``).

    Parameters
    ----------
    exports
        Every annotator's source, in study order.

    Returns
    -------
    Categories
        Holds every name of every export.

    Raises
    ------
    StudyError
        Two exports that keep their ids number one name differently (or one id for two names);
        two exports state different thing / stuff for one name.

    Examples
    --------
    >>> from agreement.io.layers import ShapeSource
    >>> a = ShapeSource("a.xml", Categories([Category(1, "road", True),
    ...                                      Category(2, "car", True)]), [], {})
    >>> b = ShapeSource("b.json", Categories([Category(1, "bus", True),
    ...                                       Category(2, "car", True)]), [], {})
    >>> cats = shared_categories([Export("a", a, True), Export("b", b, True)])
    >>> [(c.id, c.name) for c in cats.values()]
    [(1, 'road'), (2, 'car'), (3, 'bus')]
    """
    cats = _fixed_ids(exports)
    flags = _flags(exports)
    top = max((c.id for c in cats.values()), default=0)
    for e in exports:
        for cat in e.source.categories.values():
            if cat.name not in cats:
                top += 1
                cats[cat.name] = replace(cat, id=top)
    return Categories(replace(c, isthing=flags.get(c.name, c.isthing)) for c in cats.values())


def _same(a: Category | None, b: Category) -> bool:
    """One category for a study: the same name and thing / stuff (colours may differ, as
    :func:`~agreement.model.merge_categories` allows)."""
    return a is not None and (a.name, a.isthing) == (b.name, b.isthing)


def _agrees(source: AnnotationSource, shared: Categories) -> bool:
    return all(_same(shared.get(c.id), c) for c in source.categories.values())


def _conflict(sources: Mapping[str, AnnotationSource]) -> bool:
    try:
        merge_categories(sources)
    except (StudyError, AnnotationError):  # one id defined twice, or one name under two ids
        return True
    return False


def match_by_name(expanded: Expanded, *, renumberable: Mapping[str, bool],
                  reread: Callable[[str, Categories], Mapping[str | None, AnnotationSource]]
                  ) -> Expanded:
    """The study's sources with their categories matched by name, when they conflict.

    Parameters
    ----------
    expanded
        Entry -> {annotator or None: source}, in study order (as ``expand_sources`` gives).
    renumberable
        Entry -> whether its reader takes ``categories=``.
    reread
        ``reread(entry, categories)``: the entry read again with that category set.

    Returns
    -------
    Mapping
        ``expanded`` itself when the categories merge by id (nothing is read again), else the
        entries whose categories disagree with :func:`shared_categories` read again with it.

    Raises
    ------
    StudyError
        As :func:`shared_categories`; an export that keeps its ids (COCO panoptic) and
        disagrees with the shared set.
    """
    flat = {f"{entry}/{who}" if who is not None else entry: src
            for entry, found in expanded.items() for who, src in found.items()}
    if not _conflict(flat):
        return expanded
    if any(not renumberable[entry] and stated_flags(src) is None
           for entry, found in expanded.items() for src in found.values()):
        return expanded  # label maps, BSDS: classes of their own, nothing to match by name
    exports = [Export(entry if who is None else f"{entry}/{who}", src, renumberable[entry])
               for entry, found in expanded.items() for who, src in found.items()]
    shared = shared_categories(exports)
    out: dict[str, Mapping[str | None, AnnotationSource]] = {}
    for entry, found in expanded.items():
        if all(_agrees(src, shared) for src in found.values()):
            out[entry] = found
        elif renumberable[entry]:
            out[entry] = reread(entry, shared)
        else:
            src = next(s for s in found.values() if not _agrees(s, shared))
            bad = next(c for c in src.categories.values() if not _same(shared.get(c.id), c))
            want = shared.by_name(bad.name)
            raise StudyError(
                f"annotator {entry!r}, file {src.name!r}: category {bad.name!r} must be "
                f"{_KIND[want.isthing]} as another export states, got {_KIND[bad.isthing]} "
                "(this file states no isthing, and COCO panoptic categories are kept as read: "
                "add isthing to its categories)")
    for entry, found in expanded.items():  # nothing silently dropped: every label is kept
        kept = {c.name for src in out[entry].values() for c in src.categories.values()}
        lost = sorted({c.name for src in found.values() for c in src.categories.values()} - kept)
        if lost:
            raise StudyError(f"annotator {entry!r}: categories {lost} must be in the study's "
                             f"category set, got {sorted(c.name for c in shared.values())}")
    return out


def flag_note(sources: Mapping[str, AnnotationSource], categories: Categories) -> str | None:
    """The note of a study whose exports state no thing / stuff (every class is a thing).

    None when an export states one (COCO panoptic ``isthing``), when some category is stuff
    (a categories file, ``stuff=``), when the study has no category, or when a source does not
    say (label maps, BSDS).

    Examples
    --------
    >>> from agreement.io.layers import ShapeSource
    >>> src = ShapeSource("a.xml", Categories([Category(1, "car", True)]), [], {})
    >>> print(flag_note({"a": src}, src.categories))  # doctest: +ELLIPSIS
    the exports state no thing / stuff ... every class (1) is read as a thing; ...
    """
    if not len(categories) or categories.stuff_ids:
        return None
    given = [stated_flags(src) for src in sources.values()]
    if not given or any(g is None or g for g in given):
        return None
    return (f"the exports state no thing / stuff (CVAT and Label Studio have no such flag, "
            f"COCO instances may lack isthing): every class ({len(categories)}) is read as a "
            "thing; to make some classes stuff, put a categories.json in the study folder "
            '(a COCO categories list with "isthing": 0 for stuff, e.g. [{"id": 1, "name": '
            '"car", "isthing": 1}, {"id": 2, "name": "road", "isthing": 0}]) or give a study '
            "file's categories")
