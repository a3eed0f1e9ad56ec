"""Validate a study's annotations: one DataFrame of findings, per annotator and image.

:func:`validate` gathers what the readers noticed (skipped shapes, unknown labels, degenerate
polygons, coordinates outside the image, copied or cancelled annotations, ...), paints every
annotator's map once per image (layer conflicts, hidden shapes) and adds the checks that need
the maps or several annotators: unlabeled share, tiny segments, crowd candidates, images some
annotators lack, images whose size annotators disagree on, label sets that differ.

An image whose annotation cannot be decoded (a PNG of the wrong size, a brush whose header does
not match) becomes an ``unreadable_image`` error finding instead of stopping the validation.

Crowd-candidate heuristic (a thing annotated as one blob covering several instances):

* **across annotators** (warning): a non-crowd thing segment ``s`` of annotator A is a candidate
  when, for some other annotator B, at least ``crowd_min_instances`` (2) non-crowd segments of
  the same category in B each lie mostly inside ``s`` (``|s ∩ b| >= crowd_cover * |b|``, 0.5):
  A drew one region where B drew several instances;
* **within one map** (info): a thing segment made of several separate blobs (4-connected), at
  least two of which cover ``max(min_area, 10 %)`` of it; occlusion also causes this, hence info.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from scipy import ndimage

from .errors import AnnotationError
from .findings import Finding, findings_frame
from .labels import overlap_table
from .model import AnnotationSource, PanopticAnnotation, Study, image_key

__all__ = ["validate"]


def _as_study(obj: Study | Mapping[str, AnnotationSource] | AnnotationSource
              | Iterable[AnnotationSource]) -> Study:
    if isinstance(obj, Study):
        return obj
    if isinstance(obj, Mapping):
        return Study(dict(obj))
    if isinstance(obj, AnnotationSource):
        return Study({getattr(obj, "annotator", None) or obj.name: obj})
    sources = list(obj)
    return Study({getattr(s, "annotator", None) or s.name: s for s in sources})


def validate(
    study: Study | Mapping[str, AnnotationSource] | AnnotationSource | Iterable[AnnotationSource],
    *,
    min_area: int = 10,
    max_unlabeled: float = 0.5,
    crowd_min_instances: int = 2,
    crowd_cover: float = 0.5,
    progress: bool = False,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Every finding about a study, errors first.

    Parameters
    ----------
    study : Study, mapping of annotator to source, a source, or sources
    min_area : int
        Segments with fewer pixels are ``tiny_segment`` findings.
    max_unlabeled : float
        Share of unlabeled pixels above which ``unlabeled`` is a warning (info below).
    crowd_min_instances, crowd_cover
        The crowd-candidate heuristic (module notes).
    progress : bool
        Show a progress bar over images.
    n_jobs : int
        Worker processes over images (1: this process; -1: one per CPU); the findings are
        identical.

    Returns
    -------
    DataFrame
        Columns ``kind``, ``severity``, ``annotator``, ``file``, ``image``, ``shape``,
        ``detail`` (see :data:`agreement.findings.KINDS` for the kinds).

    Examples
    --------
    >>> from agreement.model import Categories, Category, ImageInfo, PanopticAnnotation
    >>> class One:
    ...     name, annotator = "mem", "a"
    ...     categories = Categories([Category(1, "car", True)])
    ...     images = (ImageInfo("x.png", 2, 2),)
    ...     def load(self, file_name):
    ...         return PanopticAnnotation.from_map([[1, 0], [0, 0]], {1: 1}, file_name="x.png")
    >>> validate(One())[["kind", "severity"]].values.tolist()
    [['unlabeled', 'warning'], ['tiny_segment', 'warning']]
    """
    from .analysis import analyse

    opts = {"min_area": min_area, "max_unlabeled": max_unlabeled,
            "crowd_min_instances": crowd_min_instances, "crowd_cover": crowd_cover}
    return analyse(_as_study(study), parts=("validation",), options={"validation": opts},
                   progress=progress, n_jobs=n_jobs).validation


@dataclass(frozen=True)
class Loaded:
    """One image read for validation: per annotator (in study order) its annotation (None when
    unreadable), the reader's layer findings, and the error that made it unreadable."""

    image: str
    items: tuple[tuple[str, PanopticAnnotation | None, tuple[Finding, ...],
                       AnnotationError | None], ...]

    @property
    def annotations(self) -> dict[str, PanopticAnnotation]:
        """The readable annotations."""
        return {a: ann for a, ann, _, _ in self.items if ann is not None}

    @property
    def error(self) -> AnnotationError | None:
        """The first annotation that could not be read."""
        return next((e for *_, e in self.items if e is not None), None)


def _load(study: Study, image: str, *, names: dict[str, dict[str, str]]) -> Loaded:
    """Read every annotation of ``image``, with the readers' layer findings and errors."""
    items = []
    for a in study.annotators_of(image):
        src = study.source(a)
        loader = getattr(src, "load_with_findings", None)
        try:
            if loader is not None:
                ann, layer = loader(names[a][image])
            else:
                ann, layer = src.load(names[a][image]), ()
        except AnnotationError as exc:
            items.append((a, None, (), exc))
            continue
        items.append((a, ann, tuple(dataclasses.replace(f, annotator=a) for f in layer), None))
    return Loaded(image, tuple(items))


def _loader(study: Study) -> partial:
    """The per-image loader of :func:`validate` (picklable)."""
    return partial(_load, names={a: _file_names(study, a) for a in study.annotators})


def _image_findings(loaded: Loaded, study: Study, *, min_area: int, max_unlabeled: float,
                    crowd_min_instances: int, crowd_cover: float
                    ) -> tuple[list[Finding], dict[str, set[int]]]:
    """Findings of one image, and the category ids each annotator used on it."""
    found: list[Finding] = []
    used: dict[str, set[int]] = {}
    image = loaded.image
    for a, ann, layer, exc in loaded.items:
        src = study.source(a)
        file = getattr(src, "file", src.name)
        if exc is not None:
            found.append(Finding.of("unreadable_image", exc.reason, annotator=a,
                                    file=exc.file or file, image=image, shape=exc.shape))
            continue
        used[a] = {s.category_id for s in ann.segments}
        found += [*layer, *_map_findings(ann, study, a, file, image, min_area, max_unlabeled)]
    found += _cross_findings(loaded.annotations, study, image, crowd_min_instances, crowd_cover)
    return found, used


def _study_findings(study: Study) -> list[Finding]:
    """What the readers noticed, and the images some annotators lack."""
    found: list[Finding] = []
    for a in study.annotators:
        src = study.source(a)
        found += [dataclasses.replace(f, annotator=a) for f in getattr(src, "findings", ())]
    folded: dict[tuple[str, str], list[str]] = {}
    for image in study.images:
        for a in study.annotators_of(image):
            folded.setdefault((a, image.casefold()), []).append(image)
    for row in study.missing().itertuples(index=False):
        others = ", ".join(study.annotators_of(row.image))
        near = folded.get((row.annotator, row.image.casefold()), [])
        hint = (f"; it has {near[0]!r}, a name differing only in case (names are "
                "case-sensitive: pass rename= to map them)" if near else "")
        found.append(Finding.of("missing_image", f"annotated by {others} only{hint}",
                                annotator=row.annotator, image=row.image))
    return found


def _validation_fold(parts: Iterable[tuple[list[Finding], dict[str, set[int]]]],
                     study: Study) -> pd.DataFrame:
    """All findings: the study's, each image's (in order), the label sets."""
    found = _study_findings(study)
    used: dict[str, set[int]] = {a: set() for a in study.annotators}
    for image_found, image_used in parts:
        found += image_found
        for a, ids in image_used.items():
            used[a].update(ids)
    return findings_frame(found + _label_sets(study, used))


def _file_names(study: Study, annotator: str) -> dict[str, str]:
    """Study image key -> the source's own file name of that image."""
    src = study.source(annotator)
    if study.align == "file_name":
        return {image_key(i): i.file_name for i in src.images}
    return {str(i.id): i.file_name for i in src.images}


def _map_findings(ann: PanopticAnnotation, study: Study, a: str, file: str, image: str,
                  min_area: int, max_unlabeled: float) -> list[Finding]:
    where = {"annotator": a, "file": file, "image": image}
    out = []
    total = ann.image.height * ann.image.width
    void = ann.void_pixels
    if void:
        share = void / total
        out.append(Finding.of("unlabeled", f"{share:.1%} of the pixels ({void} of {total}) are "
                              "unlabeled", severity="warning" if share > max_unlabeled else "info",
                              **where))
    for s in ann.segments:
        if s.area < min_area:
            out.append(Finding.of("tiny_segment", f"{study.categories.name(s.category_id)} "
                                  f"segment of {s.area} px (< {min_area})",
                                  shape=f"segment {s.id}", **where))
    out += _blobs(ann, study, where, min_area)
    return out


def _blobs(ann: PanopticAnnotation, study: Study, where: dict, min_area: int) -> list[Finding]:
    out = []
    things = set(study.categories.thing_ids)
    for s in ann.segments:
        if s.category_id not in things or s.iscrowd or s.area < 2 * min_area:
            continue
        x, y, w, h = s.bbox
        crop = ann.ids[y : y + h, x : x + w] == s.id
        labels, n = ndimage.label(crop)
        if n < 2:
            continue
        sizes = np.bincount(labels.ravel())[1:]
        big = int(np.count_nonzero(sizes >= max(min_area, 0.1 * s.area)))
        if big >= 2:
            out.append(Finding.of("crowd_candidate", f"{study.categories.name(s.category_id)} "
                                  f"segment made of {big} separate blobs ({n} in all): several "
                                  "instances as one?", severity="info", shape=f"segment {s.id}",
                                  **where))
    return out


def _cross_findings(anns: dict[str, PanopticAnnotation], study: Study, image: str,
                    min_instances: int, cover: float) -> list[Finding]:
    sizes = {a: ann.shape for a, ann in anns.items()}
    if len(set(sizes.values())) > 1:
        text = ", ".join(f"{a}: {w}x{h}" for a, (h, w) in sizes.items())
        return [Finding.of("image_size_differs", f"sizes (width x height) differ: {text}",
                           image=image)]
    out = []
    things = np.array(sorted(study.categories.thing_ids), dtype=np.int64)
    for a, ref in anns.items():
        for b, other in anns.items():
            if a != b:
                out += _lumped(ref, other, a, b, things, image, min_instances, cover, study)
    return out


def _lumped(ref: PanopticAnnotation, other: PanopticAnnotation, a: str, b: str,
            things: np.ndarray, image: str, min_instances: int, cover: float,
            study: Study) -> list[Finding]:
    na, nb = len(ref.segments) + 1, len(other.segments) + 1
    if na == 1 or nb == 1:
        return []
    table = overlap_table(ref.compact, other.compact, na, nb)[1:, 1:]
    cat_a, cat_b = ref.category_ids, other.category_ids
    crowd_a = np.array([s.iscrowd for s in ref.segments])
    crowd_b = np.array([s.iscrowd for s in other.segments])
    area_b = np.array([s.area for s in other.segments], dtype=np.int64)
    inside = (table >= cover * area_b[None, :]) & (cat_a[:, None] == cat_b[None, :])
    inside &= ~crowd_b[None, :] & np.isin(cat_b, things)[None, :]
    counts = inside.sum(axis=1)
    out = []
    for i in np.flatnonzero((counts >= min_instances) & ~crowd_a & np.isin(cat_a, things)):
        seg = ref.segments[i]
        ids = [other.segments[j].id for j in np.flatnonzero(inside[i])]
        out.append(Finding.of(
            "crowd_candidate", f"{study.categories.name(seg.category_id)} segment covers "
            f"{int(counts[i])} instances of annotator {b!r} (segments {ids[:10]}): one blob for "
            "several instances (crowd?)", annotator=a, image=image, shape=f"segment {seg.id}"))
    return out


def _label_sets(study: Study, used: dict[str, set[int]]) -> list[Finding]:
    out = []
    if len(study.annotators) < 2:
        return out
    union = set().union(*used.values())
    for a, mine in used.items():
        lack = sorted(union - mine)
        if lack:
            names = [study.categories.name(c) for c in lack]
            out.append(Finding.of("label_set_differs", f"never uses {names}, which other "
                                  "annotators use", annotator=a))
    declared: dict[str, set[str]] = {
        a: {c.name for c in study.source(a).categories.values()} for a in study.annotators}
    every = set().union(*declared.values())
    for a, names_a in declared.items():
        extra: Any = sorted(every - names_a)
        if extra:
            out.append(Finding.of("label_set_differs", f"the export's label set lacks {extra}, "
                                  "which other annotators' exports declare", severity="info",
                                  annotator=a))
    return out
