"""Scoring findings against what was planted: named right, and false findings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ._plants import EVERYONE, Plant

__all__ = ["named", "score"]

#: Kinds planted over every class: the finding's classes are evidence, not checked.
_ANY_CLASS = frozenset({"boundary_detail", "missed_small", "unlabeled", "layer_overlap"})
#: Two annotators: "a merges" seen from the other side is "b splits" (docs/findings.md).
_MIRROR = {"merge": "split", "split": "merge"}


def named(plant: Plant, finding: Any) -> bool:
    """Whether ``finding`` names ``plant``: same kind, the planted annotator alone, the planted
    classes (and direction: which side of a border, larger or smaller). A plant for everyone
    (``ambiguous_border``) is named by a ``boundary_offset`` finding about its border that
    names nobody (and is not a comparison of two annotators). With two annotators a finding
    names nobody and compares the two (``evidence["between"]``, the first one measured against
    the second): it names the plant when the planted annotator is one of them and, seen from
    the planted side (a confusion's classes swapped, a merge a split, a sign flipped), it has
    the plant's kind, classes and direction."""
    if plant.kind in EVERYONE:
        return (finding.kind == "boundary_offset" and not finding.annotators
                and not finding.evidence.get("between")
                and set(finding.categories) == set(plant.categories))
    between = tuple(getattr(finding, "evidence", {}).get("between", ()))
    kind, cats, effect = finding.kind, tuple(finding.categories), finding.effect
    if between:  # two annotators: a finding names nobody; seen from the planted side?
        if finding.annotators or plant.annotator not in between:
            return False
        if between[0] != plant.annotator:  # measured from the other annotator: mirror it
            kind = _MIRROR.get(kind, kind)
            cats = cats[::-1] if kind == "class_confusion" else cats
            effect = -effect
    elif tuple(finding.annotators) != (plant.annotator,):
        return False
    if kind != plant.kind:
        return False
    if plant.kind in _ANY_CLASS:
        return True
    if plant.kind == "boundary_offset":  # planted (A, B): A grown into B
        a, b = plant.categories
        if set(cats) != {a, b}:
            return False
        into = cats[1] if effect > 0 else cats[0]
        return into == b
    if plant.kind == "extent":
        sign = plant.parameters.get("sign", 1.0)
        return cats == tuple(plant.categories) and effect * sign > 0
    return cats == tuple(plant.categories)


def score(plants: Sequence[Plant], findings: Iterable[Any]) -> dict[str, Any]:
    """``{"named": [bool per plant], "first": [rank-1 finding names it], "false": n}``.

    A finding is false when it names no plant.
    """
    found = list(findings)
    hits = [[named(p, f) for f in found] for p in plants]
    named_any = [any(h) for h in hits]
    first = [bool(h) and h[0] for h in hits]
    false = sum(not any(h[k] for h in hits) for k in range(len(found)))
    return {"named": named_any, "first": first, "false": false}
