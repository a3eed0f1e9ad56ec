"""Which ambiguous regions illustrate a finding (agreement.diagnosis._examples)."""

import pandas as pd

from agreement.diagnosis._examples import example_regions
from agreement.diagnosis.records import Finding


def _finding(kind, annotators=("bruno",), images=(), **evidence):
    return Finding(kind=kind, categories=(), category_ids=(), annotators=annotators, effect=0.2,
                   unit="share of objects", ci_low=0.1, ci_high=0.3, images=images, n_images=10,
                   impact=5.0, statistic=4.0, p_value=0.001, p_adjusted=0.01, method="test",
                   evidence=evidence)


def _regions(rows):
    cols = ["rank", "image", "kind", "category_a", "category_b", "annotators_b", "area"]
    return pd.DataFrame(rows, columns=cols)


def test_missed_small_shows_objects_under_its_size_first():
    regions = _regions([
        (1, "a.png", "missed object", 1, 0, "bruno", 900),   # large: most severe
        (2, "b.png", "missed object", 1, 0, "bruno", 40),
        (3, "c.png", "missed object", 1, 0, "chen", 30),     # somebody else's miss
        (4, "d.png", "missed object", 1, 0, "bruno", 60),
    ])
    picked = example_regions(_finding("missed_small", size_px=100), regions, max_examples=3)
    assert picked["rank"].tolist() == [2, 4, 1]
    # without a size the severity order stands
    picked = example_regions(_finding("missed_small"), regions, max_examples=3)
    assert picked["rank"].tolist() == [1, 2, 4]


def test_an_annotators_finding_never_borrows_another_annotators_region():
    regions = _regions([(1, "a.png", "missed object", 1, 0, "chen", 30)])
    assert example_regions(_finding("missed_small", size_px=100), regions).empty


def test_a_spread_finding_shows_first_the_regions_without_the_one_it_leaves_out():
    f = Finding(kind="boundary_offset", categories=("road", "sidewalk"), category_ids=(7, 8),
                annotators=(), effect=1.6, unit="px", ci_low=1.3, ci_high=1.8,
                images=("a.png", "b.png", "c.png"), n_images=3, impact=5.0, statistic=1.4,
                p_value=0.001, p_adjusted=0.003, method="test",
                evidence={"scope": "spread", "without": "chen",
                          "deviation_by_annotator": {"alice": 2.4, "chen": 42.8, "dana": 2.3}})
    regions = _regions([
        (1, "a.png", "boundary placement", 7, 8, "chen, dana", 55),   # most severe: has chen
        (2, "b.png", "boundary placement", 8, 7, "chen", 50),         # chen alone: never
        (3, "c.png", "boundary placement", 7, 8, "alice", 40),
        (4, "a.png", "boundary placement", 7, 8, "dana", 30),
    ])
    assert example_regions(f, regions, max_examples=3)["rank"].tolist() == [3, 4, 1]
    # with no region free of chen, the one with another annotator in the minority stands
    assert example_regions(f, regions.iloc[:2], max_examples=3)["rank"].tolist() == [1]
