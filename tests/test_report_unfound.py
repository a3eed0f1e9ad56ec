"""The largest disagreements without a finding, with the closest test and why it is not one."""

from __future__ import annotations

import pandas as pd

from agreement.diagnosis import Finding, Findings
from agreement.report.unfound import unfound_lines

NAN = float("nan")
PAIRS = pd.DataFrame({
    "class_pair": ["road <-> sidewalk", "car <-> truck", "person <-> person", "building <-> void",
                   "person <-> rider", "pole <-> sky"],
    "category_a": [7, 26, 24, 11, 24, 5], "category_b": [8, 27, 24, 0, 25, 23],
    "regions": [88, 15, 23, 165, 3, 40], "pixels": [218760, 100762, 51926, 55667, 24523, 9000],
    "images": [13, 9, 8, 13, 3, 10],
    "kind": ["boundary placement", "class confusion", "merge-split", "unlabeled gap",
             "class confusion", "boundary placement"]})


def _test(annotator, kind, cats, effect, unit, n, p_adj, minimum, scope="annotator"):
    return {"annotator": annotator, "kind": kind, "categories": cats, "size_px": NAN,
            "effect": effect, "unit": unit, "n_images": n, "p_adjusted": p_adj,
            "min_effect": minimum, "scope": scope}


TESTS = pd.DataFrame([
    _test("dana", "class_confusion", "car / truck", 0.0729, "share of pixels", 12, 0.125, 0.1),
    _test("bruno", "class_confusion", "truck / car", -0.005, "share of pixels", 11, 1.0, 0.1),
    _test("bruno", "class_confusion", "rider / person", 0.667, "share of pixels", 6, 0.041, 0.1),
    _test("chen", "merge", "person", 0.3, "share of objects", 8, 0.001, 0.2),
])


def _finding(kind, cats, ids, regions=()):
    return Finding(kind, cats, ids, ("chen",), 41.6, "px", 35.0, 48.0, ("a.png",) * 13, 13,
                   15664.0, 6.0, 0.001, 0.001, "m",
                   {"regions": [{"class_pair": r} for r in regions]}, rank=1)


def test_only_the_pairs_no_finding_explains_with_the_closest_test():
    found = (_finding("boundary_offset", ("road", "sidewalk"), (7, 8)),  # its classes
             _finding("unlabeled", (), ()),                              # void pairs
             _finding("layer_overlap", (), (), regions=["person <-> person"]))  # its regions
    lines = unfound_lines(PAIRS, Findings(found, TESTS, {"alpha": 0.01, "min_images": 3}))
    assert lines == [
        "car <-> truck (class confusion): 100,762 px in 15 ambiguous regions on 9 images; "
        "closest test: dana labels car as truck, +7.3 percentage points on 12 images, adjusted "
        "p 0.125: below the minimum effect (10 percentage points) and not significant (a "
        "finding needs adjusted p < 0.01).",
        "person <-> rider (class confusion): 24,523 px in 3 ambiguous regions on 3 images; "
        "closest test: bruno labels rider as person, +66.7 percentage points on 6 images, "
        "adjusted p 0.041: not significant (a finding needs adjusted p < 0.01).",
        "pole <-> sky (boundary placement): 9,000 px in 40 ambiguous regions on 10 images; not "
        "tested: too few images where an annotator differs on it for a test of the findings' "
        "family."]
    # most pixels first, at most `top`
    assert unfound_lines(PAIRS, Findings(found, TESTS, {}), top=1) == lines[:1]


def test_a_pair_against_itself_reads_its_merge_and_split_tests():
    lines = unfound_lines(PAIRS[PAIRS["class_pair"] == "person <-> person"],
                          Findings((), TESTS, {"alpha": 0.01, "min_images": 3}))
    # significant and large enough, yet no finding: said so, not "not significant"
    assert lines == [
        "person <-> person (merge-split): 51,926 px in 23 ambiguous regions on 8 images; "
        "closest test: chen merges person instances, +30.0 percentage points on 8 images, "
        "adjusted p 0.001: significant and large enough, but left to the decision rules (its "
        "images, or a larger finding that accounts for it)."]
    few = TESTS.assign(n_images=2)
    line = unfound_lines(PAIRS[PAIRS["class_pair"] == "car <-> truck"],
                         Findings((), few, {"alpha": 0.01, "min_images": 3}))[0]
    assert line.endswith("too few images (the test needs 3).")


def test_nothing_without_the_pairs_columns():
    assert unfound_lines(None, Findings((), TESTS, {})) == []
    assert unfound_lines(pd.DataFrame({"a": ["road"], "pixels": [5]}),
                         Findings((), TESTS, {})) == []


def test_no_nan_printed_and_a_one_sided_effect_the_wrong_way_is_said_so():
    """A closest test without an effect (NaN) prints no number; a one-sided kind whose effect
    points the other way (the annotator misses, merges, confuses less than the others) says so
    rather than "not significant" alone. Counts of one are singular."""
    one = PAIRS[PAIRS["class_pair"] == "car <-> truck"].assign(regions=1, images=1)
    nan = TESTS.assign(effect=NAN, p_adjusted=NAN)
    line = unfound_lines(one, Findings((), nan, {"alpha": 0.01, "min_images": 3}))[0]
    assert "nan" not in line.lower()
    assert line == ("car <-> truck (class confusion): 100,762 px in 1 ambiguous region on 1 "
                    "image; closest test: dana labels car as truck, on 12 images: too few "
                    "images (the test needs 3).")
    less = TESTS.assign(effect=[-0.2, -0.3, -0.1, -0.4], p_adjusted=0.5)
    line = unfound_lines(one, Findings((), less, {"alpha": 0.01, "min_images": 3}))[0]
    assert line.endswith("-30.0 percentage points on 11 images, adjusted p 0.5: in the other "
                         "direction (less than the others) and not significant (a finding "
                         "needs adjusted p < 0.01).")
