"""Diagnoses: what the numbers of one class say is wrong, in words a labeling lead acts on.

The rules read a per-class table (one row per category, built by
:func:`agreement.report.collect.class_table` from the study result) and never compute a
metric. Each rule has its thresholds in :class:`Thresholds`.

==============  =============================================================================
kind            rule
==============  =============================================================================
instances       RQ < ``rq_low`` and split + merged segments >= ``split_merge_share`` of the
                class's segment rows: "annotators disagree whether and how many instances"
boundaries      RQ >= ``rq_low`` and (SQ < ``sq_low`` or boundary IoU < ``boundary_iou_low``):
                "boundaries differ"
confusion       >= ``confusion_share`` of the pixels some annotator labels as the class are
                labelled as class X by another: "confused with class X"
small_misses    missed share of segments smaller than ``small_area`` >= ``small_missed_share``
                and >= ``small_ratio`` x the missed share of larger ones, with at least
                ``small_missed_min`` missed small segment rows: "often missed when small"
                (shares are of segment rows, one per other annotator, so one annotator of N
                missing every small object gives 1 / (N - 1))
==============  =============================================================================
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

__all__ = ["Diagnosis", "Thresholds", "diagnose_classes", "diagnoses_frame"]

Kind = Literal["instances", "boundaries", "confusion", "small_misses"]


@dataclass(frozen=True)
class Thresholds:
    """Thresholds of the diagnosis rules (see the module docstring)."""

    rq_low: float = 0.75
    split_merge_share: float = 0.1
    sq_low: float = 0.8
    boundary_iou_low: float = 0.6
    confusion_share: float = 0.05
    small_area: int = 32 * 32
    small_missed_share: float = 0.15
    small_ratio: float = 2.0
    small_missed_min: int = 5

    def as_dict(self) -> dict[str, float]:
        """The thresholds as a plain dict (for the report's parameters)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Diagnosis:
    """One diagnosis of one class.

    Attributes
    ----------
    category_id : int
    category : str
    kind : {"instances", "boundaries", "confusion", "small_misses"}
    text : str
        The diagnosis in words, with its numbers.
    severity : float
        How far past the threshold, in [0, 1] (for ordering diagnoses of one class).
    other_id, other : int or None, str or None
        The other class of a confusion.
    evidence : mapping
        The numbers behind the text.
    """

    category_id: int
    category: str
    kind: Kind
    text: str
    severity: float
    other_id: int | None = None
    other: str | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)


def _num(row: Mapping[str, Any], key: str) -> float:
    value = row.get(key, math.nan)
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _instances(row: Mapping[str, Any], t: Thresholds) -> Diagnosis | None:
    rq, n = _num(row, "rq"), _num(row, "segments")
    split, merged = _num(row, "split"), _num(row, "merged")
    if not (rq < t.rq_low) or not n > 0:
        return None
    share = (split + merged) / n
    if not share >= t.split_merge_share:
        return None
    text = (
        f"annotators disagree whether and how many instances: RQ {rq:.2f}; "
        f"{int(split)} split and {int(merged)} merged segment matches ({share:.0%} of {int(n)})"
    )
    return Diagnosis(
        int(row["category_id"]),
        str(row["category"]),
        "instances",
        text,
        min(1.0, t.rq_low - rq + share),
        evidence={"rq": rq, "split": split, "merged": merged, "share": share},
    )


def _boundaries(row: Mapping[str, Any], t: Thresholds) -> Diagnosis | None:
    rq, sq, biou = _num(row, "rq"), _num(row, "sq"), _num(row, "boundary_iou")
    if not rq >= t.rq_low or not (sq < t.sq_low or biou < t.boundary_iou_low):
        return None
    parts = [f"SQ {sq:.2f}"] + ([f"boundary IoU {biou:.2f}"] if not math.isnan(biou) else [])
    text = (
        f"boundaries differ: annotators find the same segments (RQ {rq:.2f}) but "
        + " and ".join(parts)
    )
    severity = max(
        t.sq_low - sq if sq == sq else 0.0, t.boundary_iou_low - biou if biou == biou else 0.0
    )
    return Diagnosis(
        int(row["category_id"]),
        str(row["category"]),
        "boundaries",
        text,
        min(1.0, severity),
        evidence={"rq": rq, "sq": sq, "boundary_iou": biou},
    )


def _small(row: Mapping[str, Any], t: Thresholds) -> Diagnosis | None:
    small, large = _num(row, "missed_small_share"), _num(row, "missed_large_share")
    n_small = _num(row, "small_segments")
    if not small >= t.small_missed_share or not n_small > 0:
        return None
    if round(small * n_small) < t.small_missed_min:  # 1 of 3 is no rule to write
        return None
    if not (math.isnan(large) or small >= t.small_ratio * large):
        return None
    large_txt = "" if math.isnan(large) else f" vs {large:.0%} of larger ones"
    text = (
        f"often missed when small: {small:.0%} of the {int(n_small)} segment matches under "
        f"{t.small_area} px find no partner{large_txt}"
    )
    return Diagnosis(
        int(row["category_id"]),
        str(row["category"]),
        "small_misses",
        text,
        min(1.0, small),
        evidence={
            "small_area": t.small_area,
            "missed_small_share": small,
            "missed_large_share": large,
            "small_segments": n_small,
        },
    )


def _confusions(row: Mapping[str, Any], confusion: pd.DataFrame, t: Thresholds) -> list[Diagnosis]:
    cid = int(row["category_id"])
    mine = confusion[(confusion["category_id"] == cid) & (confusion["share"] >= t.confusion_share)]
    out = []
    for c in mine.sort_values("share", ascending=False).itertuples(index=False):
        text = (
            f"confused with {c.other}: {c.share:.0%} of the pixels one annotator labels "
            f"{row['category']} another labels {c.other}"
        )
        out.append(
            Diagnosis(
                cid,
                str(row["category"]),
                "confusion",
                text,
                min(1.0, float(c.share)),
                other_id=int(c.other_id),
                other=str(c.other),
                evidence={"share": float(c.share), "pixels": int(c.pixels)},
            )
        )
    return out


def diagnose_classes(
    classes: pd.DataFrame,
    confusion: pd.DataFrame | None = None,
    *,
    thresholds: Thresholds | None = None,
) -> list[Diagnosis]:
    """Apply every rule to every class.

    Parameters
    ----------
    classes : DataFrame
        One row per category: ``category_id``, ``category``, ``rq``, ``sq``, ``boundary_iou``,
        ``segments``, ``split``, ``merged``, ``small_segments``, ``missed_small_share``,
        ``missed_large_share`` (missing columns disable the rules that need them).
    confusion : DataFrame, optional
        Pixel confusion between annotators: ``category_id``, ``other_id``, ``other``, ``pixels``,
        ``share`` (of the class's pixels labelled ``other`` by another annotator).
    thresholds : Thresholds, optional

    Returns
    -------
    list of Diagnosis
        In class-table order; within a class, in rule order.

    Examples
    --------
    >>> classes = pd.DataFrame({"category_id": [1], "category": ["car"], "rq": [0.95],
    ...                         "sq": [0.7], "boundary_iou": [0.5]})
    >>> [d.kind for d in diagnose_classes(classes)]
    ['boundaries']
    """
    t = thresholds or Thresholds()
    out: list[Diagnosis] = []
    for row in classes.to_dict("records"):
        for rule in (_instances, _boundaries):
            d = rule(row, t)
            if d is not None:
                out.append(d)
        if confusion is not None and len(confusion):
            out.extend(_confusions(row, confusion, t))
        d = _small(row, t)
        if d is not None:
            out.append(d)
    return out


def diagnoses_frame(diagnoses: list[Diagnosis]) -> pd.DataFrame:
    """Diagnoses as a table.

    Columns: ``category_id``, ``category``, ``kind``, ``other``, ``severity``, ``text``.
    """
    return pd.DataFrame(
        [
            {
                "category_id": d.category_id,
                "category": d.category,
                "kind": d.kind,
                "other": d.other,
                "severity": d.severity,
                "text": d.text,
            }
            for d in diagnoses
        ],
        columns=["category_id", "category", "kind", "other", "severity", "text"],
    )
