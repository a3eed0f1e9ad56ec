"""The guideline change each finding asks for: a title and a rule that fits its kind.

One proposal per guideline change, in the findings' order (largest impact first): findings
that ask for the same change (the same title and rule, e.g. one annotator's road / sidewalk
border and the annotators' spread on that border) make one proposal citing each of them. The
rule says what the guideline must state, then what this study showed (who, how much, where,
from the findings' fields) and what to do with the example crops. Nothing is computed here:
every number comes from the findings.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = ["PROPOSAL_COLUMNS", "Proposal", "proposals_frame", "propose"]

#: Columns of :func:`proposals_frame`.
PROPOSAL_COLUMNS = ("rank", "title", "kind", "classes", "annotators", "effect", "unit", "ci_low",
                    "ci_high", "images", "n_images", "impact", "p_adjusted", "finding", "rule")


@dataclass(frozen=True)
class Proposal:
    """One proposed guideline change, made from one finding or more.

    Attributes
    ----------
    finding : Finding
        What the proposal is about (:class:`agreement.diagnosis.Finding`): the first (largest
        impact) of its findings.
    title : str
    rule : str
        What the guideline must say, what this study showed, and what to do.
    also : tuple of Finding
        The other findings asking for the same change (same title and rule), in rank order.
    """

    finding: Any
    title: str
    rule: str
    also: tuple[Any, ...] = ()

    @property
    def findings(self) -> tuple[Any, ...]:
        """Every finding behind the proposal, in rank order."""
        return (self.finding, *self.also)

    @property
    def key(self) -> str:
        """``finding-<rank>``: the key of the (first) finding's example crops."""
        return f"finding-{self.finding.rank}"

    @property
    def annotators(self) -> tuple[str, ...]:
        """Who the finding names (empty: a guideline question, or two annotators)."""
        return tuple(self.finding.annotators)


def _share(x: float) -> str:
    x = abs(x)
    return f"{100 * x:.1f}%" if x < 0.1 else f"{100 * x:.0f}%"


def _value(f: Any, x: float) -> str:
    return f"{abs(x):.1f} px" if f.unit == "px" else _share(x)


def _others(f: Any) -> str:
    """The other annotators' own mean values, as a clause."""
    others = f.evidence.get("others_mean") or {}
    if not others or not f.annotators:
        return ""
    signed = f.kind in ("boundary_offset", "extent")

    def fmt(v: float) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "–"
        if f.unit == "px":
            return f"{v:+.1f} px" if signed else f"{v:.1f} px"
        return f"{100 * v:+.0f}%" if signed else f"{100 * v:.0f}%"

    mine = f.evidence.get("annotator_mean")
    return (f" ({f.annotators[0]}'s own mean {fmt(mine)}; " if mine is not None else " (") + \
        ", ".join(f"{k} {fmt(v)}" for k, v in others.items()) + ")"


def _where(f: Any) -> str:
    return f"on {len(f.images)} of {f.n_images} images"


def _seen(f: Any, lead: str = "In this study") -> str:
    """What this study showed, from the finding (a share's text already gives the others'
    means)."""
    text = f.text
    others = _others(f) if f.unit == "px" else ""
    return f"{lead}: {text[:-1]}{others}." if others and text.endswith(".") else \
        f"{lead}: {text}"


def _action(f: Any) -> str:
    crops = "the example crops below" if f.evidence.get("regions") else "examples from this study"
    if f.annotators:
        return f"Show {' and '.join(f.annotators)} the rule with {crops}."
    if f.evidence.get("between"):
        a, b = f.evidence["between"]
        return (f"With two annotators nothing says which of {a} and {b} follows the guideline: "
                f"decide, write it down with {crops}, and show it to both.")
    return f"Add the rule to the guideline with {crops}: nobody alone is responsible."


#: Examples of the visible edge between two classes (Cityscapes / COCO panoptic names), for
#: the border rule; a pair not listed gets the generic wording.
_BORDER_EDGES: dict[frozenset[str], str] = {
    frozenset(("road", "sidewalk")): "the face of the curb",
    frozenset(("road", "pavement-merged")): "the face of the curb",
    frozenset(("sidewalk", "terrain")): "where the paving ends",
    frozenset(("road", "terrain")): "where the asphalt ends",
    frozenset(("sidewalk", "building")): "the foot of the wall",
    frozenset(("building", "sky")): "the roof line",
    frozenset(("building-other-merged", "sky-other-merged")): "the roof line",
    frozenset(("vegetation", "sky")): "the outermost leaves of the crown",
    frozenset(("tree-merged", "sky-other-merged")): "the outermost leaves of the crown",
}
#: Examples of what a class's outline includes, for the extent rule.
_EXTENT_PARTS: dict[str, str] = {
    "vegetation": "the gaps: sky seen through a tree crown",
    "tree-merged": "the gaps: sky seen through a tree crown",
    "fence": "the gaps: the background seen through the mesh",
    "fence-merged": "the gaps: the background seen through the mesh",
    "bicycle": "the gaps: the background between the spokes",
    "motorcycle": "the gaps: the background between the spokes",
    "pole": "thin parts: the top of a pole and the arm holding a sign or light",
}
#: Examples of an object built of parts, for the split rule.
_OBJECT_PARTS: dict[str, str] = {
    "truck": "a truck's cab and box",
    "bus": "the two sections of an articulated bus",
    "bicycle": "a bicycle's frame and wheels",
    "motorcycle": "a motorcycle's frame and wheels",
}


def _example(table: Mapping[Any, str], key: Any) -> str:
    """`` (e.g. ...)`` from ``table``, or nothing for a class (pair) without an example."""
    example = table.get(key)
    return f" (e.g. {example})" if example else ""


def _rule(f: Any, things: Mapping[str, bool]) -> tuple[str, str]:
    cats = list(f.categories)
    a = cats[0] if cats else ""
    b = cats[1] if len(cats) > 1 else ""
    k = f.kind
    if k == "class_confusion":
        if things.get(a) and things.get(b):
            return (f"Tell {a} from {b}",
                    f"List what decides between {a} and {b} (shape, size, use; the doubtful "
                    f"vehicles or people by name), give a default for the doubtful cases, and "
                    f"add example crops of borderline {a} / {b}.")
        return (f"Say where {a} ends and {b} begins",
                f"State which visible feature separates {a} from {b} and which class owns the "
                f"doubtful areas (thin strips, transitions, shadows), with example crops.")
    if k == "boundary_offset":
        return (f"Say where the {a} / {b} border goes",
                f"State which visible edge is the border between {a} and {b}"
                f"{_example(_BORDER_EDGES, frozenset((a, b)))}, that the border is drawn on it, "
                f"and which class owns the strip between the edges annotators could choose.")
    if k == "boundary_detail":
        where = f" (here: {', '.join(cats[:4])})" if cats else ""
        return ("Say how closely outlines follow the edges",
                f"State how closely an outline must follow the visible edge (e.g. within 1 px, "
                f"with enough points on round and small objects such as signs){where}.")
    if k == "extent":
        bigger = f.effect > 0
        return (f"Say what belongs to {a}",
                f"State what is part of {a} and where its outline goes: its thin parts, the gaps "
                f"seen through it and its shadows{_example(_EXTENT_PARTS, a)}; "
                f"{'drawing it larger' if bigger else 'drawing it smaller'} than the visible "
                f"{a} is not allowed.")
    if k == "missed_small":
        size = f.evidence.get("size_px")
        side = f", about {math.sqrt(size):.0f} x {math.sqrt(size):.0f} px" if size else ""
        limit = (f" (the objects missed here are under {size} px{side}: put the limit "
                 f"below that)") if size else ""
        return ("Set the smallest object to draw",
                f"State the smallest object that must be drawn{limit}, and that every object "
                f"above it is drawn, also far away or partly hidden; say how to mark the ones "
                f"below it.")
    if k == "merge":
        return (f"Say that touching {a} instances are separate",
                f"State that every {a} is its own segment, also when {a} instances touch or "
                f"overlap, and when (if ever) a group may be one crowd region instead.")
    if k == "split":
        return (f"Say what counts as one {a}",
                f"State that one {a} is one segment, also when an occluder cuts it into visible "
                f"parts or it is built of parts{_example(_OBJECT_PARTS, a)}.")
    if k == "unlabeled":
        return ("Say that every pixel gets a class",
                "State that every pixel gets a class and that neighbouring regions share their "
                "border, with no gap between them (use the tool's shared edges or snapping).")
    if k == "layer_overlap":
        return ("Say how overlapping objects are drawn",
                "State the drawing order where objects overlap: the object in front is drawn "
                "over the one behind it (or only the visible part of each object is drawn).")
    return (f"Clarify {k.replace('_', ' ')}", "State the rule this finding asks for.")


def propose(findings: Iterable[Any], *, things: Mapping[str, bool] | None = None
            ) -> list[Proposal]:
    """One proposal per guideline change, in the findings' order (largest impact first).

    Findings whose proposals would have the same title and rule make one proposal (at the
    place of the first), which says what each of them showed and what to do for each.

    Parameters
    ----------
    findings : iterable of Finding
        :class:`agreement.diagnosis.Findings` or its findings.
    things : mapping of category name to bool, optional
        Whether each class is a thing (a confusion of two things is told apart by what the
        objects are; one of stuff by where one ends).

    Returns
    -------
    list of Proposal

    Examples
    --------
    >>> from agreement.diagnosis import Finding
    >>> f = Finding("boundary_offset", ("road", "sidewalk"), (7, 8), ("chen",), 41.6, "px", 35.2,
    ...             47.8, ("a.png",) * 13, 13, 9000.0, 6.1, 0.001, 0.001, "m", rank=1)
    >>> p = propose([f])[0]
    >>> p.title, p.key
    ('Say where the road / sidewalk border goes', 'finding-1')
    >>> p.rule.split(". In this study: ")[1][:46]
    'chen draws the road / sidewalk border 41.6 px '
    """
    groups: dict[tuple[str, str], list[Any]] = {}
    for f in findings:
        groups.setdefault(_rule(f, things or {}), []).append(f)
    out = []
    for (title, rule), fs in groups.items():
        seen = " ".join(_seen(f, "In this study" if k == 0 else "Also in this study")
                        for k, f in enumerate(fs))
        actions = " ".join(dict.fromkeys(_action(f) for f in fs))
        out.append(Proposal(fs[0], title, f"{rule} {seen} {actions}", tuple(fs[1:])))
    return out


def proposals_frame(proposals: Sequence[Proposal]) -> pd.DataFrame:
    """Proposals as a table: :data:`PROPOSAL_COLUMNS`, one row per finding in rank order
    (``finding`` = the finding's text; the findings of one proposal share its title and
    rule)."""
    rows = []
    behind = [(p, f) for p in proposals for f in p.findings]
    for p, f in sorted(behind, key=lambda pf: pf[1].rank):
        rows.append({"rank": f.rank, "title": p.title, "kind": f.kind,
                     "classes": " / ".join(f.categories), "annotators": ", ".join(f.annotators),
                     "effect": f.effect, "unit": f.unit, "ci_low": f.ci_low,
                     "ci_high": f.ci_high, "images": len(f.images), "n_images": f.n_images,
                     "impact": f.impact, "p_adjusted": f.p_adjusted, "finding": f.text,
                     "rule": p.rule})
    return pd.DataFrame(rows, columns=list(PROPOSAL_COLUMNS))
