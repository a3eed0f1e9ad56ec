"""The guideline rule each finding proposes reads as a sentence, with the study's own numbers."""

from __future__ import annotations

from agreement.diagnosis import Finding
from agreement.report import propose


def test_the_smallest_object_rule_names_the_size_of_the_misses():
    f = Finding("missed_small", (), (), ("bruno",), 0.212, "share", 0.136, 0.286,
                ("a.png",) * 10, 13, 3335.6, 4.8, 0.001, 0.002, "m",
                evidence={"size_px": 5408}, rank=5)
    p = propose([f])[0]
    assert p.title == "Set the smallest object to draw"
    assert p.rule.split(" In this study: ")[0] == (
        "State the smallest object that must be drawn (the objects missed here are under "
        "5408 px, about 74 x 74 px: put the limit below that), and that every object above "
        "it is drawn, also far away or partly hidden; say how to mark the ones below it.")
    without = Finding(*[getattr(f, k) for k in ("kind", "categories", "category_ids",
                                                "annotators", "effect", "unit", "ci_low",
                                                "ci_high", "images", "n_images", "impact",
                                                "statistic", "p_value", "p_adjusted",
                                                "method")], rank=5)
    assert propose([without])[0].rule.startswith(
        "State the smallest object that must be drawn, and that every object above it is drawn")
