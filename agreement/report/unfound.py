"""The largest disagreements that did not become findings, and why not.

The confused class pairs (:attr:`agreement.study.disputes.StudyDisagreement.class_pairs`) with
most pixels that no finding explains, each with the test of the findings' family that came
closest to a finding (:attr:`agreement.diagnosis.Findings.tests`: nothing is tested again here)
and what it lacked: the minimum practical effect, significance, or images. "No finding" about a
large disagreement is then an informed answer.

A pair is explained by a finding when the finding's example regions have that class pair, or the
finding is about those classes (a confusion or border of the two classes; a merge or split of
the class with itself), or the pair is a class against void and there is an ``unlabeled`` or
``missed_small`` finding. The tests looked at: ``class_confusion`` and ``boundary_offset`` of
the two classes (either order, every annotator and the annotators' spread); ``merge`` and
``split`` of a class against itself; ``unlabeled`` and ``missed_small`` against void.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..diagnosis._effects import SIGNED

__all__ = ["UNFOUND_TITLE", "unfound_lines"]

#: Title of the block.
UNFOUND_TITLE = "Large disagreements without a finding"

_NEEDED = ("class_pair", "category_a", "category_b", "pixels", "regions", "images")


def _classes(pair: str) -> frozenset[str]:
    return frozenset(pair.split(" <-> "))


def _explained(row: Any, findings: Any) -> bool:
    """Whether a finding explains the confused pair ``row``."""
    a, b = int(row.category_a), int(row.category_b)
    pair = _classes(str(row.class_pair))
    for f in findings:
        if any(_classes(str(r.get("class_pair", ""))) == pair
               for r in f.evidence.get("regions", ())):
            return True
        ids = {int(c) for c in f.category_ids}
        if a != b and ids == {a, b} and f.kind in ("class_confusion", "boundary_offset"):
            return True
        if a == b and ids == {a} and f.kind in ("merge", "split"):
            return True
        if 0 in (a, b) and f.kind in ("unlabeled", "missed_small"):
            return True
    return False


def _candidates(tests: pd.DataFrame, names: tuple[str, str], void: bool) -> pd.DataFrame:
    """The family's tests about a pair of classes (``names``, void as ``"void"``)."""
    cats = tests["categories"].astype(str)
    kind = tests["kind"].astype(str)
    a, b = names
    if void:
        return tests[kind.isin(("unlabeled", "missed_small"))]
    if a == b:
        return tests[kind.isin(("merge", "split")) & (cats == a)]
    return tests[kind.isin(("class_confusion", "boundary_offset"))
                 & cats.isin((f"{a} / {b}", f"{b} / {a}"))]


def _closest(cands: pd.DataFrame) -> Any:
    """The test nearest to a finding: the smallest adjusted p, then the largest effect against
    its minimum."""
    size = (cands["effect"].abs() / cands["min_effect"].where(cands["min_effect"] > 0)).fillna(0)
    order = cands.assign(_size=size).sort_values(["p_adjusted", "_size"],
                                                 ascending=[True, False], kind="stable")
    return next(order.itertuples())


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}{'s' * (n != 1)}"


def _amount(x: float, unit: str) -> str:
    if unit == "px":
        return f"{x:+.1f} px"
    return f"{100 * x:+.1f} percentage points"


def _minimum(x: float, unit: str) -> str:
    return f"{x:.1f} px" if unit == "px" else f"{100 * x:g} percentage points"


def _test_name(t: Any) -> str:
    who = "the annotators' spread on" if str(t.scope) == "spread" else str(t.annotator)
    cats = str(t.categories).split(" / ")
    kind = str(t.kind)
    if kind == "class_confusion":
        return f"{who} labels {cats[0]} as {cats[1]}"
    if kind == "boundary_offset":
        return (f"{who} the {cats[0]} / {cats[1]} border" if str(t.scope) == "spread" else
                f"{who} moves the {cats[0]} / {cats[1]} border")
    if kind == "missed_small":
        size = t.size_px
        return f"{who} misses objects under {size:.0f} px" if size == size else \
            f"{who} misses small objects"
    if kind == "unlabeled":
        return f"{who} leaves pixels unlabeled"
    return f"{who} {'merges' if kind == 'merge' else 'splits'} {cats[0]} instances"


def _why(t: Any, alpha: float, min_images: int) -> str:
    effect = float(t.effect)
    if math.isnan(effect) or int(t.n_images) < min_images:
        return f"too few images (the test needs {min_images})"
    reasons = []
    if str(t.kind) not in SIGNED and effect < 0:  # fewer misses, merges... than the others
        reasons.append("in the other direction (less than the others)")
    elif abs(effect) < float(t.min_effect):
        reasons.append(f"below the minimum effect ({_minimum(float(t.min_effect), str(t.unit))})")
    if not float(t.p_adjusted) < alpha:
        reasons.append(f"not significant (a finding needs adjusted p < {alpha:g})")
    if not reasons:
        return ("significant and large enough, but left to the decision rules (its images, or "
                "a larger finding that accounts for it)")
    return " and ".join(reasons)


def unfound_lines(pairs: pd.DataFrame | None, findings: Any, *, top: int = 5) -> list[str]:
    """One sentence per large confused class pair no finding explains (at most ``top``, most
    pixels first): its size, the closest test and why it is not a finding.

    Parameters
    ----------
    pairs : DataFrame or None
        Confused class pairs: ``class_pair``, ``category_a``, ``category_b``, ``pixels``,
        ``regions``, ``images`` and ``kind`` (None, or columns missing: no line).
    findings : Findings
        The study's findings, with ``tests`` (the family's tests) and ``parameters``
        (``alpha``, ``min_images``).
    top : int

    Returns
    -------
    list of str

    Examples
    --------
    >>> from agreement.diagnosis import Findings
    >>> pairs = pd.DataFrame({"class_pair": ["car <-> truck"], "category_a": [26],
    ...                       "category_b": [27], "regions": [15], "pixels": [100762],
    ...                       "images": [9], "kind": ["class confusion"]})
    >>> tests = pd.DataFrame({"annotator": ["dana"], "kind": ["class_confusion"],
    ...     "categories": ["car / truck"], "size_px": [float("nan")], "effect": [0.0729],
    ...     "unit": ["share of pixels"], "n_images": [12], "p_adjusted": [0.125],
    ...     "min_effect": [0.1], "scope": ["annotator"]})
    >>> print(unfound_lines(pairs, Findings((), tests, {"alpha": 0.01, "min_images": 3}))[0])
    car <-> truck (class confusion): 100,762 px in 15 ambiguous regions on 9 images; closest \
test: dana labels car as truck, +7.3 percentage points on 12 images, adjusted p 0.125: below \
the minimum effect (10 percentage points) and not significant (a finding needs adjusted p < \
0.01).
    """
    if pairs is None or not len(pairs) or any(c not in pairs.columns for c in _NEEDED):
        return []
    tests = findings.tests
    params: Mapping[str, Any] = findings.parameters or {}
    alpha = float(params.get("alpha", 0.01))
    min_images = int(params.get("min_images", 3))
    usable = tests is not None and len(tests) and {"kind", "categories", "p_adjusted"} <= \
        set(tests.columns)
    out = []
    for row in pairs.sort_values("pixels", ascending=False, kind="stable").itertuples():
        if len(out) >= top:
            break
        if _explained(row, findings):
            continue
        names = tuple(str(row.class_pair).split(" <-> "))
        if len(names) != 2:
            continue
        kind = f" ({row.kind})" if "kind" in pairs.columns else ""
        head = (f"{row.class_pair}{kind}: {int(row.pixels):,} px in "
                f"{_count(int(row.regions), 'ambiguous region')} on "
                f"{_count(int(row.images), 'image')}")
        void = 0 in (int(row.category_a), int(row.category_b))
        cands = _candidates(tests, names, void) if usable else pd.DataFrame()
        if not len(cands):
            out.append(f"{head}; not tested: too few images where an annotator differs on it "
                       "for a test of the findings' family.")
            continue
        t = _closest(cands)
        effect, p = float(t.effect), float(t.p_adjusted)
        measured = (f"{_amount(effect, str(t.unit))} on {_count(int(t.n_images), 'image')}, "
                    f"adjusted p {p:.3g}" if effect == effect and p == p else
                    f"on {_count(int(t.n_images), 'image')}")
        out.append(f"{head}; closest test: {_test_name(t)}, {measured}: "
                   f"{_why(t, alpha, min_images)}.")
    return out
