"""The sentence of each finding, from its fields only (never parsed back).

Functions take a :class:`agreement.diagnosis.Finding` (typed ``Any`` here so that this module
knows nothing of the model that calls it).
"""

from __future__ import annotations

from typing import Any

Finding = Any


def _share(x: float) -> str:
    return f"{100 * x:.1f}%" if abs(x) < 0.1 else f"{100 * x:.0f}%"


def _value(f: Finding, x: float) -> str:
    return f"{abs(x):.1f} px" if f.unit == "px" else _share(abs(x))


def _ci(f: Finding) -> str:
    lo, hi = sorted((abs(f.ci_low), abs(f.ci_high))) if f.ci_low * f.ci_high > 0 else \
        (f.ci_low, f.ci_high)
    fmt = (lambda v: f"{v:.1f}") if f.unit == "px" else (lambda v: f"{100 * v:.1f}")
    unit = " px" if f.unit == "px" else "%"
    return f"95% CI {fmt(lo)}-{fmt(hi)}{unit}"


def _what(f: Finding) -> str:
    cats, x = f.categories, f.effect
    a = cats[0] if cats else ""
    b = cats[1] if len(cats) > 1 else ""
    v = _value(f, x)
    k = f.kind
    if k == "class_confusion":
        return f"labels {a} as {b}: {v} of the {a} pixels more than the others"
    if k == "boundary_offset":
        into, away = (b, a) if x > 0 else (a, b)
        return (f"draws the {a} / {b} border {v} into {into} (the {away} side larger) compared "
                "with the others")
    if k == "boundary_detail":
        return (f"traces outlines more coarsely: their borders stray {v} further on both sides "
                "than the others'")
    if k == "extent":
        size = "larger" if x > 0 else "smaller"
        if f.unit == "px":
            side = "out" if x > 0 else "in"
            near = f.evidence.get("border_with")
            where = f" (into {near})" if near and x > 0 else f" ({near} larger)" if near else ""
            return (f"draws {a} {size}: its outline lies {v} further {side} than the others'"
                    f"{where}")
        return f"draws {a} {size}: {v} of its area compared with the others"
    if k == "missed_small":
        size = f.evidence.get("size_px")
        return (f"misses small objects: {v} more of the objects under {size} px are missing than "
                "for the others")
    if k == "merge":
        return f"merges adjacent {a} instances: {v} more of the {a} objects next to another one"
    if k == "split":
        return f"splits {a} instances into parts: {v} more of the {a} objects"
    if k == "unlabeled":
        return f"leaves {v} more of the labelled area unlabeled (void) than the others"
    if k == "layer_overlap":
        return (f"resolves overlapping objects in another order: {v} more of the objects' "
                "pixels go to the object drawn over them")
    return f"differs in {k}: {v}"


def _spread_text(f: Finding) -> str:
    a, b = f.categories
    e = f.evidence
    ci = (f" (95% CI {f.ci_low:.1f}-{f.ci_high:.1f} px)"
          if f.ci_low == f.ci_low and f.ci_high == f.ci_high else "")
    return (f"The annotators place the {a} / {b} border differently from image to image: "
            f"{f.effect:.1f} px from the image's typical border on average{ci}, without the one "
            f"who deviates most ({e['without']}); {e['noise_px']:.1f} px on the study's "
            f"borders in general. Nobody alone: a guideline question (on {len(f.images)} of "
            f"{f.n_images} images).")


def finding_text(f: Finding) -> str:
    """One or two sentences for a finding (numbers rounded for reading)."""
    if f.evidence.get("scope") == "spread":
        return _spread_text(f)
    where = f"on {len(f.images)} of {f.n_images} images"
    if not f.annotators and "by_annotator" in f.evidence:
        parts = ", ".join(f"{a} {'+' if v > 0 else '-'}{_value(f, v)}"
                          for a, v in f.evidence["by_annotator"].items())
        subject = "/".join(f.categories) if f.categories else f.kind.replace("_", " ")
        return (f"Annotators disagree among themselves on {subject} ({f.kind.replace('_', ' ')}):"
                f" {parts} compared with the others; a guideline question, nobody alone "
                f"({where}).")
    between = f.evidence.get("between")
    what = _what(f)
    if not f.annotators and between and "the others" in what:  # two annotators: name the other
        what = what.replace("the others'", f"{between[1]}'s").replace("the others", between[1])
        return f"{between[0]} {what} ({_ci(f)}, {where})."
    return f"{f.who} {what} ({_ci(f)}, {where})."
