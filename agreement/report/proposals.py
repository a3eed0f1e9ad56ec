"""Guideline revision proposals, derived from diagnoses and ranked by expected gain.

A proposal targets one class (instances, boundaries, small misses) or one confused class pair
(both directions of the confusion become one proposal). Its rule text is a template filled with
the classes and numbers of the diagnosis; its expected gain (how much PQ All would rise if the
disagreement were resolved) comes from :mod:`agreement.report.gains`.

Ranking: by the pixels of the ambiguous regions (:mod:`agreement.image.regions`) the problem
explains, i.e. how much of the annotation work it touches. PQ All weighs every class equally, so
ranking by expected PQ gain would put a rare class's confusion (a few hundred pixels) above a border
drawn differently in every image; the gain is shown beside each proposal instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import pandas as pd

from .diagnose import Diagnosis

__all__ = ["Proposal", "apply_gains", "proposals_frame", "propose"]


@dataclass(frozen=True)
class Proposal:
    """One proposed guideline change.

    Attributes
    ----------
    key : str
        ``"pair:<id>-<id>"`` for a confused pair (smaller id first), ``"<kind>:<id>"`` otherwise.
    kind : str
        The diagnosis kind that triggered it.
    categories : tuple of int
    title : str
    rule : str
        The proposed rule or clarification.
    evidence : tuple of str
        The diagnoses' texts.
    expected_gain : float
        Rise of PQ All (fraction, not percent) if the disagreement were resolved; NaN if unknown.
    gain_method : str
        How the gain was computed.
    annotators : tuple of str
        Annotators whose systematic habits drive the problem (see
        :mod:`agreement.report.traits`).
    pixels, images : int
        Pixels of the ambiguous regions the problem explains, and the images they are in.
    """

    key: str
    kind: str
    categories: tuple[int, ...]
    title: str
    rule: str
    evidence: tuple[str, ...]
    expected_gain: float = math.nan
    gain_method: str = ""
    annotators: tuple[str, ...] = ()
    pixels: int = 0
    images: int = 0


def _rule(kind: str, names: Sequence[str], things: Sequence[bool], d: Diagnosis) -> tuple[str, str]:
    a = names[0]
    if kind == "confusion":
        b = names[1]
        if not any(things):
            return (
                f"Define the border between {a} and {b}",
                f"State which visible feature separates {a} from {b} (an edge, a change of "
                f"surface or material), that the border is drawn exactly on it, and which class "
                f"owns the transition strip; show two or three annotated example crops of the "
                f"ambiguous cases.",
            )
        if all(things):
            return (
                f"Tell {a} from {b}",
                f"List the criteria that decide between {a} and {b} (shape, size, use), give a "
                f"default for the doubtful cases, and add example crops of borderline {a} / {b}.",
            )
        return (
            f"Say where {a} ends and {b} begins",
            f"State which pixels belong to the {a if things[0] else b} object and which to the "
            f"{b if things[0] else a} around it (thin parts, shadows, reflections), and show "
            f"example crops of the ambiguous cases.",
        )
    if kind == "instances":
        return (
            f"Say what counts as one {a}",
            f"Annotate every {a} as its own segment, also when instances touch or occlude "
            f"each other; state when a group may be one crowd region instead, and show "
            f"examples of adjacent {a} instances drawn separately.",
        )
    if kind == "boundaries":
        return (
            f"Specify how to trace {a} boundaries",
            f"State where the {a} outline goes (on the visible edge, including or excluding "
            f"thin attached parts and shadows), how closely to follow it (a tolerance in "
            f"pixels), and what to do at occlusions.",
        )
    area = int(d.evidence.get("small_area", 0)) or None
    size = f" (at least {area} px)" if area else ""
    return (
        f"Set a minimum size for {a}",
        f"State the smallest {a} that must be annotated{size} and that every {a} above it is "
        f"labelled, also far away or partly hidden; say how to mark those below it.",
    )


def propose(
    diagnoses: Sequence[Diagnosis],
    *,
    names: Mapping[int, str],
    isthing: Mapping[int, bool],
    impact: Callable[[str, tuple[int, ...]], tuple[int, int]] | None = None,
    gain: Callable[[str, tuple[int, ...]], tuple[float, str]] | None = None,
) -> list[Proposal]:
    """Turn diagnoses into proposals, one per class-and-kind or confused pair, ranked.

    Parameters
    ----------
    diagnoses : sequence of Diagnosis
    names, isthing : mapping of category id
    impact : callable, optional
        ``impact(kind, categories) -> (disputed pixels, images)``: how much annotation the
        problem touches (the ranking key).
    gain : callable, optional
        ``gain(kind, categories) -> (expected PQ gain, method)``, called in rank order; without
        it gains are NaN.

    Returns
    -------
    list of Proposal
        Ranked by disputed pixels (with ``impact``), else by expected gain; ties by the
        diagnoses' severity.

    Examples
    --------
    >>> d = Diagnosis(7, "road", "confusion", "confused with sidewalk", 0.2, 8, "sidewalk")
    >>> [p.title for p in propose([d], names={7: "road", 8: "sidewalk"}, isthing={7: 0, 8: 0})]
    ['Define the border between road and sidewalk']
    """
    groups: dict[str, list[Diagnosis]] = {}
    for d in diagnoses:
        if d.kind == "confusion" and d.other_id is not None:
            ids = tuple(sorted((d.category_id, d.other_id)))
            key = f"pair:{ids[0]}-{ids[1]}"
        else:
            key = f"{d.kind}:{d.category_id}"
        groups.setdefault(key, []).append(d)
    out = []
    for key, ds in groups.items():
        first = ds[0]
        cats = tuple(int(c) for c in key.split(":", 1)[1].split("-"))
        title, rule = _rule(
            first.kind,
            [names.get(c, str(c)) for c in cats],
            [bool(isthing.get(c, False)) for c in cats],
            first,
        )
        pixels, images = impact(first.kind, cats) if impact is not None else (0, 0)
        proposal = Proposal(
            key,
            first.kind,
            cats,
            title,
            rule,
            tuple(d.text for d in ds),
            pixels=int(pixels),
            images=int(images),
        )
        out.append((max(d.severity for d in ds), proposal))
    if impact is not None:
        out.sort(key=lambda sp: (-sp[1].pixels, -sp[0]))
        return apply_gains([p for _, p in out], gain)
    ranked = apply_gains([p for _, p in out], gain)
    severity = {p.key: s for s, p in out}
    return sorted(
        ranked,
        key=lambda p: (
            -(p.expected_gain if p.expected_gain == p.expected_gain else -1.0),
            -severity[p.key],
        ),
    )


def apply_gains(proposals: Sequence[Proposal], gain: Callable | None) -> list[Proposal]:
    """The proposals with ``gain(kind, categories) -> (value, method)`` filled in, in order."""
    if gain is None:
        return list(proposals)
    out = []
    for p in proposals:
        value, method = gain(p.kind, p.categories)
        out.append(replace(p, expected_gain=value, gain_method=method))
    return out


def proposals_frame(proposals: Sequence[Proposal], names: Mapping[int, str]) -> pd.DataFrame:
    """Proposals as a table: ``rank``, ``title``, ``classes``, ``kind``, ``expected_gain``, ..."""
    return pd.DataFrame(
        [
            {
                "rank": i,
                "title": p.title,
                "classes": " / ".join(names.get(c, str(c)) for c in p.categories),
                "kind": p.kind,
                "disputed_pixels": p.pixels,
                "images": p.images,
                "expected_gain": p.expected_gain,
                "gain_method": p.gain_method,
                "annotators": ", ".join(p.annotators),
                "rule": p.rule,
                "evidence": "; ".join(p.evidence),
            }
            for i, p in enumerate(proposals, 1)
        ],
        columns=[
            "rank",
            "title",
            "classes",
            "kind",
            "disputed_pixels",
            "images",
            "expected_gain",
            "gain_method",
            "annotators",
            "rule",
            "evidence",
        ],
    )
