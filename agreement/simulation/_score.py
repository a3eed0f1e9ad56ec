"""Scoring findings against what was planted: named right, and false findings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ._plants import EVERYONE, Plant

__all__ = ["named", "score"]

#: Kinds planted over every class: the finding's classes are evidence, not checked.
_ANY_CLASS = frozenset({"boundary_detail", "missed_small", "unlabeled", "layer_overlap"})


def named(plant: Plant, finding: Any) -> bool:
    """Whether ``finding`` names ``plant``: same kind, the planted annotator alone, the planted
    classes (and direction: which side of a border, larger or smaller). A plant for everyone
    (``ambiguous_border``) is named by a ``boundary_offset`` finding about its border that
    names nobody (and is not a comparison of two annotators)."""
    if plant.kind in EVERYONE:
        return (finding.kind == "boundary_offset" and not finding.annotators
                and not finding.evidence.get("between")
                and set(finding.categories) == set(plant.categories))
    if finding.kind != plant.kind or tuple(finding.annotators) != (plant.annotator,):
        return False
    if plant.kind in _ANY_CLASS:
        return True
    cats = tuple(finding.categories)
    if plant.kind == "boundary_offset":  # planted (A, B): A grown into B
        a, b = plant.categories
        if set(cats) != {a, b}:
            return False
        into = cats[1] if finding.effect > 0 else cats[0]
        return into == b
    if plant.kind == "extent":
        sign = plant.parameters.get("sign", 1.0)
        return cats == tuple(plant.categories) and finding.effect * sign > 0
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
