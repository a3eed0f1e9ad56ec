"""The review queue: the regions to send back to the annotators, ranked, in the tool's own terms.

One row per item to look at again: an ambiguous region of the study (the bounded top-K of the
disagreement pass, :attr:`agreement.study.disputes.StudyDisagreement.regions`, most severe
first), with its image, box, kind and class pair, the annotators concerned, why in one line, and
where each concerned annotator's annotation lives in the annotation tool when their export
carries it (CVAT task / job / frame, Label Studio task and each annotator's own annotation id;
:class:`agreement.model.ToolRef`).

**Rank.** ``priority = severity x weight``: ``severity`` is the region's (its pixels weighted by
the share of annotators disputing them, :mod:`agreement.image.regions`); ``weight`` is
:data:`FINDING_WEIGHT` (2) when a finding explains the region, else 1. A finding is statistical
evidence that the difference is systematic (an annotator's habit, or a guideline question), so
its regions are worth more than an isolated slip of the same size: an explained region ranks
above any unexplained one of up to twice its severity. Ties keep the regions' order. Only the
pass's ``max_regions`` most severe regions (5000 by default) are candidates; the queue keeps
the ``top`` first.

**Concerned annotators**: the region's minority side (``annotators_b``, who give ``class_b``
where the others give ``class_a``); when both sides are the same size (two annotators, or two
against two) nobody is in the minority and both sides are concerned.

**Explained by a finding** (:class:`agreement.diagnosis.Finding`, read through its public
fields; any object with them, or its ``to_dict()`` mapping, works): the finding lists the
region in its evidence (``evidence["regions"]`` or ``evidence["example_regions"]``: region
ranks, or region records with their rank as ``region``, as :mod:`agreement.diagnosis` writes
them, or as ``rank``), or all of these hold: its categories are the
region's class pair (two), one of its two classes (one) or anything (none); its annotators
include a concerned annotator (or it names none); its images include the region's (or it
lists none); its kind can show as the region's
kind (:data:`EXPLAINS`). A finding listing the region comes first, then the first finding
(best rank) matching it; the row names it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import StudyError
from ..model import Study, ToolRef, image_key

__all__ = ["EXPLAINS", "FINDING_WEIGHT", "REVIEW_COLUMNS", "review_queue", "tool_refs"]

#: Priority multiplier of a region a finding explains.
FINDING_WEIGHT = 2.0

#: Columns of the queue (``review_queue.csv``).
REVIEW_COLUMNS = [
    "rank", "image", "kind", "class_pair", "bbox_x", "bbox_y", "bbox_w", "bbox_h", "area",
    "annotators", "why", "severity", "priority", "finding", "region", "tool", "tool_image",
    "task", "frame", "jobs", "annotations",
]

#: Region kinds (:data:`agreement.image.regions.KINDS`) each finding kind can show as; kinds
#: not listed (a new kind) may show as any.
EXPLAINS: dict[str, tuple[str, ...]] = {
    "class_confusion": ("class confusion", "missed object", "boundary placement"),
    "boundary_offset": ("boundary placement", "class confusion", "unlabeled gap"),
    "boundary_detail": ("boundary placement", "unlabeled gap"),
    "extent": ("boundary placement", "class confusion", "unlabeled gap", "missed object"),
    "missed_small": ("missed object",),
    "merge": ("merge-split",),
    "split": ("merge-split",),
    "unlabeled": ("unlabeled gap",),
    # painting order hides objects of the finding's class: a region where two classes are
    # confused is a class confusion (a car <-> truck region is not a car hidden by a car)
    "layer_overlap": ("merge-split", "missed object"),
}


def tool_refs(study: Study) -> dict[tuple[str, str], ToolRef]:
    """``(annotator, image) -> ToolRef`` of every annotation whose export carries one, from the
    sources' image lists (no map is decoded)."""
    out = {}
    for a in study.annotators:
        for info in study.source(a).images:
            if info.tool_ref is not None:
                key = image_key(info) if study.align == "file_name" else str(info.id)
                out[(a, key)] = info.tool_ref
    return out


def _field(f: Any, name: str, default: Any = ()) -> Any:
    if isinstance(f, Mapping):
        if name == "images":  # findings.json: "images" is a count, "image_names" the list
            return f.get("image_names", f.get("images", default))
        return f.get(name, default)
    return getattr(f, name, default)


def _names(value: Any) -> tuple[str, ...]:
    if value is None or isinstance(value, (int, float)):
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


class _Finding:
    """What the queue reads of a finding."""

    def __init__(self, f: Any, position: int, categories: Mapping[str, int]) -> None:
        self.rank = int(_field(f, "rank", 0) or position)
        self.kind = str(_field(f, "kind", ""))
        ids = tuple(int(c) for c in (_field(f, "category_ids", ()) or ()))
        if not ids:
            ids = tuple(categories[n] for n in _names(_field(f, "categories")) if n in categories)
        self.category_ids = ids
        self.categories = _names(_field(f, "categories"))
        self.annotators = set(_names(_field(f, "annotators")))
        self.images = set(_names(_field(f, "images")))
        evidence = _field(f, "evidence", {}) or {}
        listed = []
        if isinstance(evidence, Mapping):
            for key in ("regions", "example_regions"):
                value = evidence.get(key)
                if isinstance(value, Iterable) and not isinstance(value, (str, Mapping)):
                    for v in value:  # a rank, or a region record with its rank
                        if isinstance(v, Mapping):  # the diagnosis writes "region"
                            v = v.get("region", v.get("rank"))
                        if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
                            listed.append(v)
        self.regions = {int(v) for v in listed}
        size = evidence.get("size_px") if isinstance(evidence, Mapping) else None
        #: missed_small: the size its objects are under (a larger missed object is not its)
        self.size = float(size) if isinstance(size, (int, float, np.number)) and not isinstance(
            size, bool) else None
        self.label = (f"finding {self.rank} ({self.kind}"
                      + (f" {'/'.join(self.categories)}" if self.categories else "")
                      + (f": {', '.join(sorted(self.annotators))}" if self.annotators else "")
                      + ")")

    def explains(self, rank: int, image: str, kind: str, pair: set[int],
                 concerned: Sequence[str], area: int) -> bool:
        if rank in self.regions:
            return True
        if self.kind == "missed_small" and self.size is not None and not area < self.size:
            return False
        if len(self.category_ids) >= 2 and set(self.category_ids[:2]) != pair:
            return False
        if len(self.category_ids) == 1 and self.category_ids[0] not in pair:
            return False
        if self.annotators and not self.annotators & set(concerned):
            return False
        if self.images and image not in self.images:
            return False
        allowed = EXPLAINS.get(self.kind)
        return allowed is None or kind in allowed


def _kind(kind: str) -> str:
    return kind.removesuffix(" (thin)")


def _concerned(a: Sequence[str], b: Sequence[str]) -> tuple[str, ...]:
    return tuple(b) if 0 < len(b) < len(a) else (*a, *b)  # no side b: nobody is the minority


def _verb(who: Sequence[str], verb: str) -> str:
    return verb if len(who) > 1 else {"give": "gives", "draw": "draws", "leave": "leaves",
                                      "label": "labels"}[verb]


def _why(r: Any, concerned: Sequence[str], others: Sequence[str]) -> str:
    """One line: who does what where the others do what."""
    kind, area = _kind(r.kind), int(r.area)
    if len(concerned) > len(r.annotators_b):  # no majority: say both sides
        b, a = tuple(r.annotators_b), tuple(r.annotators_a)
    else:
        b, a = tuple(concerned), tuple(others)
    who, rest = ", ".join(b), ", ".join(a) or "the others"
    if not b:  # nobody on a side of their own (e.g. a crowd blob everyone drew alike)
        what = (f"the {r.class_a} instances" if kind == "merge-split" else
                f"{r.class_a} and {r.class_b}")
        return f"{rest} disagree on {what} ({kind}, {area} px disputed)"
    if kind == "merge-split":
        return (f"{who} {_verb(b, 'draw')} the {r.class_a} instances otherwise than {rest} "
                f"({area} px disputed)")
    if r.class_b == "void":
        text = (f"{who} {_verb(b, 'leave')} unlabelled the {r.class_a} that {rest} "
                f"{_verb(a, 'label')}")
    elif r.class_a == "void":
        text = f"{who} {_verb(b, 'label')} {r.class_b} where {rest} {_verb(a, 'leave')} it void"
    else:
        text = f"{who} {_verb(b, 'give')} {r.class_b} where {rest} {_verb(a, 'give')} {r.class_a}"
    return f"{text} ({kind}, {area} px)"


def _refs(refs: Mapping[tuple[str, str], ToolRef], image: str,
          concerned: Sequence[str]) -> dict[str, Any]:
    """The tool columns of a row: ``tool``, ``tool_image``, ``task``, ``frame``, ``jobs``,
    ``annotations`` (per concerned annotator ``name=id``, ``; ``-separated)."""
    mine = [(a, refs[(a, image)]) for a in concerned if (a, image) in refs]
    if not mine:
        return {"tool": "", "tool_image": "", "task": "", "frame": "", "jobs": "",
                "annotations": ""}

    def distinct(values: Iterable[Any]) -> str:
        return " ".join(str(v) for v in dict.fromkeys(v for v in values if v is not None))

    return {
        "tool": distinct(r.tool for _, r in mine),
        "tool_image": distinct(r.image for _, r in mine),
        "task": distinct(r.task_id for _, r in mine),
        "frame": distinct(r.frame for _, r in mine),
        "jobs": "; ".join(f"{a}={r.job_id}" for a, r in mine if r.job_id is not None),
        "annotations": "; ".join(f"{a}={r.annotation_id}" for a, r in mine
                                 if r.annotation_id is not None),
    }


def review_queue(study: Study, regions: pd.DataFrame | None = None,
                 findings: Iterable[Any] | None = None, *, top: int = 100,
                 finding_weight: float = FINDING_WEIGHT, n_jobs: int = 1,
                 progress: bool = False, executor: Any = None) -> pd.DataFrame:
    """The ``top`` regions to review, ranked (see the module notes).

    Parameters
    ----------
    study : Study
        For the tool references of each annotator's images (read from the sources' image
        lists; nothing is decoded).
    regions : DataFrame, optional
        :attr:`agreement.study.disputes.StudyDisagreement.regions` (with its ``rank``), e.g.
        from a report's pass. None: run the disagreement pass (:func:`agreement.disagreement`
        without the heatmap sums, on ``n_jobs`` / ``executor``, with ``progress``).
    findings : iterable, optional
        The study's findings (:class:`agreement.diagnosis.Findings`, a list of
        :class:`~agreement.diagnosis.Finding`, or their ``to_dict()`` mappings): the hook by
        which findings weight and explain regions. None or empty: regions only.
    top : int
        Rows kept (>= 0).
    finding_weight : float
        Priority multiplier of an explained region (>= 1).

    Returns
    -------
    DataFrame
        :data:`REVIEW_COLUMNS`: ``rank`` (1 = first to review), ``image``, ``kind``,
        ``class_pair``, ``bbox_x``, ``bbox_y``, ``bbox_w``, ``bbox_h`` (the region's box in
        pixels), ``area``, ``annotators`` (concerned, ``", "``-joined), ``why`` (one line),
        ``severity``, ``priority``, ``finding`` (the explaining finding, or empty),
        ``region`` (the region's rank in ``regions.csv``), then the tool's references of the
        concerned annotators' annotations (empty when their exports carry none): ``tool``
        (``cvat`` / ``labelstudio``), ``tool_image`` (the image as the tool names it),
        ``task`` (task id), ``frame`` (CVAT frame), ``jobs`` (CVAT job of each concerned
        annotator, ``"b=2; c=3"``), ``annotations`` (Label Studio annotation id of each,
        ``"user-2=102; user-3=202"``).

    Examples
    --------
    >>> from agreement.io import load_study
    >>> study = load_study("data/sample/batch1")
    >>> queue = review_queue(study, top=3)
    >>> queue[["rank", "image", "kind", "class_pair", "annotators"]].values.tolist()
    [[1, 'street_010.jpg', 'merge-split', 'car <-> car', 'dana'], \
[2, 'street_004.jpg', 'class confusion', 'road <-> sidewalk', 'chen'], \
[3, 'street_005.jpg', 'class confusion', 'car <-> truck', 'dana']]
    """
    if top < 0:
        raise StudyError(f"top must be >= 0, got {top}")
    if not finding_weight >= 1:
        raise StudyError(f"finding_weight must be >= 1, got {finding_weight}")
    if regions is None:
        from .disputes import disagreement

        regions = disagreement(study, maps=False, n_jobs=n_jobs, progress=progress,
                               executor=executor).regions
    by_name = {study.categories.name(c): c for c in study.categories}
    found = [_Finding(f, k, by_name) for k, f in enumerate(findings or (), start=1)]
    found.sort(key=lambda f: f.rank)
    refs = tool_refs(study)
    rows = []
    for r in regions.itertuples(index=False):
        concerned = _concerned(r.annotators_a, r.annotators_b)
        others = tuple(a for a in (*r.annotators_a, *r.annotators_b) if a not in concerned)
        kind = _kind(r.kind)
        pair = {int(r.category_a), int(r.category_b)}
        by = next((f for f in found if int(r.rank) in f.regions), None) or next(
            (f for f in found if f.explains(int(r.rank), r.image, kind, pair, concerned,
                                            int(r.area))), None)
        why = _why(r, concerned, others)
        rows.append({
            "image": r.image, "kind": r.kind, "class_pair": r.class_pair,
            "bbox_x": int(r.bbox_x), "bbox_y": int(r.bbox_y), "bbox_w": int(r.bbox_w),
            "bbox_h": int(r.bbox_h), "area": int(r.area), "annotators": ", ".join(concerned),
            "why": why if by is None else f"{why}; explained by {by.label}",
            "severity": float(r.severity),
            "priority": float(r.severity) * (finding_weight if by is not None else 1.0),
            "finding": "" if by is None else by.label, "region": int(r.rank),
            **_refs(refs, r.image, concerned)})
    queue = pd.DataFrame(rows, columns=[c for c in REVIEW_COLUMNS if c != "rank"])
    queue = queue.sort_values("priority", ascending=False, kind="stable").head(top)
    queue.insert(0, "rank", np.arange(1, len(queue) + 1))
    return queue.reset_index(drop=True)

