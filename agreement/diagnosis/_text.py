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


def _points(x: float) -> str:
    """A difference of shares in percentage points, signed."""
    return f"{100 * x:+.1f}" if abs(x) < 0.1 else f"{100 * x:+.0f}"


def _ci(f: Finding) -> str:
    """The effect's interval; for a share, the effect itself first (a difference of shares:
    percentage points above the image's median annotator, signed)."""
    if f.unit != "px":
        return (f"{_points(f.effect)} percentage points from the median annotator, "
                f"95% CI {100 * f.ci_low:+.1f} to {100 * f.ci_high:+.1f}")
    lo, hi = sorted((abs(f.ci_low), abs(f.ci_high))) if f.ci_low * f.ci_high > 0 else \
        (f.ci_low, f.ci_high)
    return f"95% CI {lo:.1f}-{hi:.1f} px"


def _span(values: list[float], signed: bool) -> str:
    """The others' own means as a range of percentages (``0-4%``, ``-2 to +3%``)."""
    lo, hi = min(values), max(values)
    if lo == hi == 0:
        return "0%"
    digits = 1 if max(abs(lo), abs(hi)) < 0.1 else 0
    fmt = (lambda v: f"{100 * v:+.{digits}f}") if signed else (lambda v: f"{100 * v:.{digits}f}")
    if fmt(lo) == fmt(hi):
        return f"{fmt(lo)}%"
    return f"{fmt(lo)} to {fmt(hi)}%" if signed else f"{fmt(lo)}-{fmt(hi)}%"


def _means(f: Finding) -> tuple[float, list[float]] | None:
    """The annotator's own mean value and the others' (``evidence``), when the finding has
    them."""
    mine, others = f.evidence.get("annotator_mean"), f.evidence.get("others_mean")
    vals = [float(v) for v in (others or {}).values() if v is not None and v == v]
    if mine is None or mine != mine or not vals:
        return None
    return float(mine), vals


#: Per share kind: the measure, with {a} / {b} for the classes and {v} for the share.
_SHARES = {
    "class_confusion": "labels {a} as {b}: {v} of the {a} pixels",
    "missed_small": "misses small objects: {v} of the objects under {size} px missed",
    "merge": "merges adjacent {a} instances: {v} of the {a} objects next to another one",
    "split": "splits {a} instances into parts: {v} of the {a} objects",
    "unlabeled": "leaves {v} of the labelled area unlabeled (void)",
    "layer_overlap": ("resolves overlapping objects in another order: {v} of the objects' pixels "
                      "go to the object drawn over them"),
}


def _share_what(f: Finding, a: str, b: str) -> str:
    """A share kind: the annotator's own share against the others', then the effect (a
    difference of shares, in percentage points above the image's median annotator)."""
    means = _means(f)
    size = f.evidence.get("size_px")
    if means is None:
        return _SHARES[f.kind].format(a=a, b=b, v="more", size=size) + " than the others"
    mine, others = means
    measure = _SHARES[f.kind].format(a=a, b=b, v=_share(mine), size=size)
    return f"{measure}, against {_span(others, False)} for the others"


def _extent_share(f: Finding, a: str) -> str:
    """``extent`` in shares: the annotator's A area against the others' consensus."""
    size = "larger" if f.effect > 0 else "smaller"
    means = _means(f)
    if means is None:
        return f"draws {a} {size} than the others' consensus"
    mine, others = means
    return (f"draws {a} {size}: its {a} area is {_share(abs(mine))} "
            f"{'larger' if mine > 0 else 'smaller'} than the others' consensus on average, "
            f"against {_span(others, True)} for the others")


def _what(f: Finding) -> str:
    cats, x = f.categories, f.effect
    a = cats[0] if cats else ""
    b = cats[1] if len(cats) > 1 else ""
    v = _value(f, x)
    k = f.kind
    if k in _SHARES and f.unit != "px":
        return _share_what(f, a, b)
    if k == "boundary_offset":
        into, away = (b, a) if x > 0 else (a, b)
        return (f"draws the {a} / {b} border {v} into {into} (the {away} side larger) compared "
                "with the others")
    if k == "boundary_detail":
        return (f"traces outlines more coarsely: their borders stray {v} further on both sides "
                "than the others'")
    if k == "extent":
        if f.unit != "px":
            return _extent_share(f, a)
        size = "larger" if x > 0 else "smaller"
        side = "out" if x > 0 else "in"
        near = f.evidence.get("border_with")
        where = f" (into {near})" if near and x > 0 else f" ({near} larger)" if near else ""
        return (f"draws {a} {size}: its outline lies {v} further {side} than the others'"
                f"{where}")
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
        if f.unit == "px":
            parts = ", ".join(f"{a} {'+' if v > 0 else '-'}{_value(f, v)}"
                              for a, v in f.evidence["by_annotator"].items())
            parts += " compared with the others"
        else:
            parts = ", ".join(f"{a} {_points(v)}" for a, v in
                              f.evidence["by_annotator"].items())
            parts += " percentage points from the median annotator"
        subject = "/".join(f.categories) if f.categories else f.kind.replace("_", " ")
        return (f"Annotators disagree among themselves on {subject} ({f.kind.replace('_', ' ')}):"
                f" {parts}; a guideline question, nobody alone ({where}).")
    between = f.evidence.get("between")
    what = _what(f)
    if not f.annotators and between and "the others" in what:  # two annotators: name the other
        what = what.replace("the others'", f"{between[1]}'s").replace("the others", between[1])
        ci = _ci(f).replace("the median annotator", "the two annotators' midpoint")
        return f"{between[0]} {what} ({ci}, {where})."
    return f"{f.who} {what} ({_ci(f)}, {where})."
