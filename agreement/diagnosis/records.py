"""The findings model: one :class:`Finding` per diagnosed problem, and :class:`Findings`.

A finding says what is systematically different (``kind``, ``categories``), who does it
(``annotators``; empty when the annotators disagree among themselves, i.e. the guideline is
ambiguous, or when only two annotators are compared), how much (``effect`` in ``unit`` with a
bootstrap interval over images), where (``images``), why it is believed (the permutation test:
``statistic``, ``p_value``, ``p_adjusted``, ``method``) and the numbers behind it
(``evidence``). Its ``text`` is generated from those fields and never parsed back.

Not to be confused with :mod:`agreement.findings` (what readers and the validator notice about
an export's files).
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ._text import finding_text

__all__ = ["FINDING_COLUMNS", "Finding", "Findings"]

#: Columns of :meth:`Findings.to_frame`.
FINDING_COLUMNS: tuple[str, ...] = (
    "rank", "kind", "categories", "annotators", "effect", "unit", "ci_low", "ci_high", "images",
    "impact", "statistic", "p_value", "p_adjusted", "text")


@dataclass(frozen=True)
class Finding:
    """One systematic difference found in a study.

    Attributes
    ----------
    kind : str
        One of :data:`agreement.diagnosis.KINDS`.
    categories : tuple of str
        Category names: ``(A, B)`` for ``class_confusion`` (A labelled B) and
        ``boundary_offset`` (the A / B border), ``(A,)`` for ``extent``, ``merge``, ``split``;
        for ``boundary_detail`` the classes with coarser outlines, largest first; empty for the
        kinds measured over every class (``missed_small``, ``unlabeled``, ``layer_overlap``).
    category_ids : tuple of int
    annotators : tuple of str
        Who is responsible; empty when the annotators disagree among themselves (a guideline
        question) or with two annotators (``evidence["between"]`` names them).
    effect : float
        Mean over images of the annotator's effect minus the others' on the same image, in
        ``unit`` (signed for ``boundary_offset``: + = into ``categories[1]``; ``extent``:
        + = larger).
    unit : str
        ``"px"``, ``"share of pixels"`` or ``"share of objects"``.
    ci_low, ci_high : float
        Bootstrap interval of ``effect`` over images.
    images : tuple of str
        Images where the per-image effect points the same way and reaches half the minimum
        practical effect.
    n_images : int
        Images the effect could be measured on.
    impact : float
        Pixels per image the difference accounts for (effect x its size: border length, class
        area, objects' area); findings are ranked by it.
    statistic, p_value, p_adjusted : float
        Studentized mean contrast, its permutation p-value and the multiplicity-adjusted one.
    method : str
        How the test was made.
    evidence : mapping
        The numbers behind it (each annotator's own mean effect, sizes, counts).
    rank : int
        1 = largest impact.
    """

    kind: str
    categories: tuple[str, ...]
    category_ids: tuple[int, ...]
    annotators: tuple[str, ...]
    effect: float
    unit: str
    ci_low: float
    ci_high: float
    images: tuple[str, ...]
    n_images: int
    impact: float
    statistic: float
    p_value: float
    p_adjusted: float
    method: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    rank: int = 0

    @property
    def who(self) -> str:
        """Who the finding is about, as the texts name them: its annotators, the two compared
        (``"b (compared with a)"``, a two-annotator study), else ``"the annotators"``."""
        if self.annotators:
            return " and ".join(self.annotators)
        between = self.evidence.get("between")
        if between:
            return f"{between[0]} (compared with {between[1]})"
        return "the annotators"

    @property
    def text(self) -> str:
        """The finding in one or two sentences, generated from the fields."""
        return finding_text(self)

    def to_dict(self) -> dict[str, Any]:
        """The finding as in ``findings.json``."""
        return {
            "rank": self.rank, "kind": self.kind, "categories": list(self.categories),
            "category_ids": list(self.category_ids), "annotators": list(self.annotators),
            "effect": _round(self.effect), "unit": self.unit, "ci_low": _round(self.ci_low),
            "ci_high": _round(self.ci_high), "images": len(self.images),
            "image_names": list(self.images), "n_images": self.n_images,
            "impact": _round(self.impact),
            "test": {"statistic": _round(self.statistic), "p_value": self.p_value,
                     "p_adjusted": self.p_adjusted, "method": self.method},
            "text": self.text, "evidence": _plain(self.evidence)}


def _round(x: float, digits: int = 4) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), digits)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return _round(value)
    if hasattr(value, "item"):
        return _plain(value.item())
    return value


@dataclass(frozen=True, eq=False)
class Findings:
    """The findings of one study, largest impact first.

    Attributes
    ----------
    findings : tuple of Finding
    tests : DataFrame
        Every test of the study, finding or not: one row per (annotator, kind, class)
        (``scope`` ``"annotator"``) and one per stuff border tested for a spread across the
        annotators (``scope`` ``"spread"``, ``annotator`` empty): ``annotator``, ``kind``,
        ``categories``, ``size_px``, ``effect``, ``unit``, ``ci_low``, ``ci_high``,
        ``n_images``, ``statistic``, ``p_value``, ``p_adjusted``, ``min_effect``, ``finding``,
        ``scope``.
    parameters : mapping
        The options and sizes the findings were made with.
    """

    findings: tuple[Finding, ...]
    tests: pd.DataFrame
    parameters: Mapping[str, Any]

    def __len__(self) -> int:
        return len(self.findings)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def __getitem__(self, k: int) -> Finding:
        return self.findings[k]

    def to_frame(self) -> pd.DataFrame:
        """One row per finding: :data:`FINDING_COLUMNS` (lists joined with ", ")."""
        rows = [{"rank": f.rank, "kind": f.kind, "categories": ", ".join(f.categories),
                 "annotators": ", ".join(f.annotators), "effect": f.effect, "unit": f.unit,
                 "ci_low": f.ci_low, "ci_high": f.ci_high, "images": len(f.images),
                 "impact": f.impact, "statistic": f.statistic, "p_value": f.p_value,
                 "p_adjusted": f.p_adjusted, "text": f.text} for f in self.findings]
        return pd.DataFrame(rows, columns=list(FINDING_COLUMNS))

    def to_dict(self) -> dict[str, Any]:
        """``{"findings": [...], "parameters": {...}}``: the ``findings.json`` document."""
        return {"findings": [f.to_dict() for f in self.findings],
                "parameters": _plain(dict(self.parameters))}

    def summary(self) -> str:
        """One line per finding, or a plain sentence when there is none."""
        if not self.findings:
            return ("No finding: no annotator differs from the others beyond the study's own "
                    "noise, and no disagreement stands out.")
        return "\n".join(f"{f.rank}. {f.text}" for f in self.findings)

    def __repr__(self) -> str:
        kinds = ", ".join(f"{f.kind}({'/'.join(f.categories)}; "
                          f"{'/'.join(f.annotators) or '-'})" for f in self.findings[:5])
        more = "" if len(self) <= 5 else f", ... {len(self) - 5} more"
        return f"Findings({len(self)}: {kinds}{more})" if self.findings else "Findings(none)"

    def _repr_html_(self) -> str:
        if not self.findings:
            return f"<p>{html.escape(self.summary())}</p>"
        items = "".join(f"<li>{html.escape(f.text)} <small>(p adj. {f.p_adjusted:.3g})</small>"
                        "</li>" for f in self.findings)
        return f"<p><b>{len(self)} findings</b>, largest impact first:</p><ol>{items}</ol>"
