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


def _finding(kind, cats, effect, unit="px"):
    return Finding(kind, cats, (), ("chen",), effect, unit, effect / 2, effect * 2,
                   ("a.png",) * 9, 13, 100.0, 4.0, 0.001, 0.002, "m", rank=1)


def test_rule_examples_appear_only_for_the_classes_they_are_about():
    # a border with an example (either order of the pair) and one without
    for cats in (("road", "sidewalk"), ("sidewalk", "road")):
        rule = propose([_finding("boundary_offset", cats, 41.6)])[0].rule
        assert rule.startswith(f"State which visible edge is the border between {cats[0]} and "
                               f"{cats[1]} (e.g. the face of the curb), that the border is drawn")
    rule = propose([_finding("boundary_offset", ("traffic sign", "sky"), -6.2)])[0].rule
    assert rule.split(" In this study: ")[0] == (
        "State which visible edge is the border between traffic sign and sky, that the border "
        "is drawn on it, and which class owns the strip between the edges annotators could "
        "choose.")
    assert "curb" not in rule and "e.g." not in rule
    # what a class includes: a tree crown only for vegetation
    rule = propose([_finding("extent", ("vegetation",), 0.2, "share")])[0].rule
    assert "the gaps seen through it and its shadows (e.g. the gaps: sky seen through a tree " \
        "crown); " \
        "drawing it larger than the visible vegetation is not allowed." in rule
    rule = propose([_finding("extent", ("pole",), -0.57, "share")])[0].rule
    assert "its shadows (e.g. thin parts: the top of a pole and the arm holding a sign or " \
        "light); drawing it smaller than the visible pole" in rule and "tree" not in rule
    rule = propose([_finding("extent", ("sky",), -0.57, "share")])[0].rule
    assert rule.split(" In this study: ")[0] == (
        "State what is part of sky and where its outline goes: its thin parts, the gaps seen "
        "through it and its shadows; drawing it smaller than the visible sky is not allowed.")
    # an object built of parts: a truck's cab and box only for trucks
    rule = propose([_finding("split", ("truck",), 0.9, "share")])[0].rule
    assert "or it is built of parts (e.g. a truck's cab and box)." in rule
    rule = propose([_finding("split", ("person",), 0.9, "share")])[0].rule
    assert rule.split(" In this study: ")[0] == (
        "State that one person is one segment, also when an occluder cuts it into visible parts "
        "or it is built of parts.")


def test_findings_asking_for_the_same_change_make_one_proposal():
    from agreement.report import proposals_frame

    chen = Finding("boundary_offset", ("road", "sidewalk"), (7, 8), ("chen",), 41.6, "px", 35.2,
                   47.8, ("a.png",) * 13, 13, 15664.1, 6.1, 0.001, 0.001, "m",
                   {"annotator_mean": 41.7, "others_mean": {"alice": -3.5}}, rank=2)
    split = _finding("split", ("truck",), 0.9, "share")
    split = Finding(*[getattr(split, k) for k in Finding.__dataclass_fields__ if k != "rank"],
                    rank=3)
    spread = Finding("boundary_offset", ("road", "sidewalk"), (7, 8), (), 1.6, "px", 1.3, 1.8,
                     ("a.png",) * 13, 13, 2017.3, 1.4, 0.0004, 0.003, "m",
                     {"scope": "spread", "without": "chen", "noise_px": 0.8}, rank=7)
    props = propose([chen, split, spread])
    assert [p.title for p in props] == ["Say where the road / sidewalk border goes",
                                        "Say what counts as one truck"]
    border = props[0]
    assert border.findings == (chen, spread) and border.key == "finding-2"
    assert border.rule.startswith(
        "State which visible edge is the border between road and sidewalk (e.g. the face of the "
        "curb), that the border is drawn on it, and which class owns the strip between the edges "
        "annotators could choose. In this study: chen draws the road / sidewalk border 41.6 px ")
    assert f" Also in this study: {spread.text} Show chen the rule with examples from this " \
        "study. Add the rule to the guideline with examples from this study: nobody alone is " \
        "responsible." in border.rule
    # the table keeps a row per finding, in rank order; one proposal's rows share its rule
    frame = proposals_frame(props)
    assert frame["rank"].tolist() == [2, 3, 7]
    assert frame["rule"].tolist() == [border.rule, props[1].rule, border.rule]
    assert frame["finding"].tolist() == [chen.text, split.text, spread.text]
