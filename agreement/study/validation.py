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
from typing import TYPE_CHECKING, Any

from ..findings import Finding, FindingTable, findings_frame
from ..image.checks import cross_findings, map_findings
from ..image.maps import ImageMaps
from ..model import AnnotationSource, Study
from .runner import Part, run

if TYPE_CHECKING:  # the table is built with pandas at the end; the CLI needs none
    import pandas as pd

__all__ = ["ValidationPart", "validate", "validation_findings", "validation_table"]


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
    executor: Any = None,
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
        Worker processes over images (1: this process; -1: one per CPU); the same findings.
    executor : concurrent.futures.Executor or distributed.Client, optional
        Run the images there (:mod:`agreement.study.runner`).

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
    part = ValidationPart(min_area, max_unlabeled, crowd_min_instances, crowd_cover)
    return run(_as_study(study), [part], progress=progress, n_jobs=n_jobs, executor=executor)[0]


def validation_findings(
    study: Study | Mapping[str, AnnotationSource] | AnnotationSource | Iterable[AnnotationSource],
    **options: Any,
) -> list[Finding]:
    """:func:`validate`'s findings as records (errors first), without building a table.

    Takes the options of :func:`validate`; ``findings_frame(validation_findings(s))`` equals
    ``validate(s)``.
    """
    return list(validation_table(study, **options))


def validation_table(
    study: Study | Mapping[str, AnnotationSource] | AnnotationSource | Iterable[AnnotationSource],
    **options: Any,
) -> FindingTable:
    """:func:`validation_findings` held compactly (a :class:`~agreement.findings.FindingTable`,
    iterated errors first): what a command writing a long list of findings reads.

    Takes the options of :func:`validate`.
    """
    progress = options.pop("progress", False)
    n_jobs = options.pop("n_jobs", 1)
    executor = options.pop("executor", None)
    part = _ValidationRecords(**options)
    return run(_as_study(study), [part], progress=progress, n_jobs=n_jobs, executor=executor)[0]


@dataclass(frozen=True)
class ValidationPart(Part[tuple, "pd.DataFrame"]):
    """:func:`validate` as a part of a pass (options as there; ``compact``: its table's columns
    as categoricals, the report's). Unreadable annotations are findings here, not errors;
    every map is read with what its reader noticed painting it."""

    min_area: int = 10
    max_unlabeled: float = 0.5
    crowd_min_instances: int = 2
    crowd_cover: float = 0.5
    compact: bool = False

    name = "validation"
    label = "validate"
    tolerant = True
    layer_findings = True

    def kernel(self, maps: ImageMaps) -> tuple[list[Finding], dict[str, set[int]]]:
        """Findings of one image, and the category ids each annotator used on it."""
        found: list[Finding] = []
        used: dict[str, set[int]] = {}
        for r in maps.read:
            where = {"annotator": r.annotator, "file": r.file, "image": maps.image}
            if r.error is not None:
                found.append(Finding.of("unreadable_image", r.error.reason,
                                        annotator=r.annotator, file=r.error.file or where["file"],
                                        image=maps.image, shape=r.error.shape))
                continue
            used[r.annotator] = {s.category_id for s in r.annotation.segments}
            found += [*r.findings, *map_findings(r.annotation, maps.categories, where,
                                                 min_area=self.min_area,
                                                 max_unlabeled=self.max_unlabeled)]
        found += cross_findings(maps, min_instances=self.crowd_min_instances,
                                cover=self.crowd_cover)
        return found, used

    def merge(self, a: tuple, b: tuple) -> tuple:
        used = {k: set(v) for k, v in a[1].items()}
        for k, v in b[1].items():
            used.setdefault(k, set()).update(v)
        return a[0] + b[0], used

    def fold(self, total: tuple | None, chunk: tuple) -> tuple:
        """The chunk's findings added to the total's :class:`~agreement.findings.FindingTable`
        (seven text codes a finding: of ~120,000 findings at 10,000 images most repeat a few
        hundred sentences, ``car segment of 6 px (< 10)``, ``segment 12``), whatever executor
        ran the images."""
        found, used = total if total is not None else (FindingTable(), {})
        found.extend(chunk[0])
        for k, v in chunk[1].items():
            used.setdefault(k, set()).update(v)
        return found, used

    def finish(self, total: tuple | None, study: Study) -> pd.DataFrame:
        """All findings: the study's, each image's (in order), the label sets (``compact``:
        the columns as categoricals, :func:`agreement.findings.findings_frame`)."""
        return findings_frame(_all_findings(total, study), categorical=self.compact)


@dataclass(frozen=True)
class _ValidationRecords(ValidationPart):
    """:class:`ValidationPart` finishing with the findings table (:func:`validation_table`)."""

    def finish(self, total: tuple | None, study: Study) -> FindingTable:  # type: ignore[override]
        return _all_findings(total, study)


def _all_findings(total: tuple | None, study: Study) -> FindingTable:
    """The study's findings, each image's (in order), the label sets."""
    used: dict[str, set[int]] = {a: set() for a in study.annotators}
    found = FindingTable() if total is None else total[0]
    if total is not None:
        for a, ids in total[1].items():
            used[a].update(ids)
    found.extend_front(_study_findings(study))
    found.extend(_label_sets(study, used))
    return found


def _study_findings(study: Study) -> list[Finding]:
    """What the readers noticed, and the images some annotators lack."""
    found: list[Finding] = []
    for a in study.annotators:
        src = study.source(a)
        found += [dataclasses.replace(f, annotator=a) for f in getattr(src, "findings", ())]
    missing = [(image, a) for image in study.images  # the rows of study.missing()
               for a in study.annotators if a not in study.annotators_of(image)]
    if not missing:
        return found
    wanted = {image.casefold() for image, _ in missing}
    folded: dict[tuple[str, str], list[str]] = {}  # only the names a hint may give
    for image in study.images:
        if image.casefold() in wanted:
            for a in study.annotators_of(image):
                folded.setdefault((a, image.casefold()), []).append(image)
    for image, annotator in missing:
        near = folded.get((annotator, image.casefold()), [])
        hint = (f"; it has {near[0]!r}, a name differing only in case (names are "
                "case-sensitive: pass rename= to map them)" if near else "")
        found.append(Finding.of("missing_image", f"annotated by "
                                f"{', '.join(study.annotators_of(image))} only{hint}",
                                annotator=annotator, image=image))
    return found


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
