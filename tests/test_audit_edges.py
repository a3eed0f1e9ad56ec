"""End-to-end edge cases of the report on tiny in-memory studies (issue 4/6/7 audit)."""

import math

import numpy as np
import pandas as pd

from agreement import (
    Categories,
    Category,
    PanopticAnnotation,
    Study,
    analyse,
    build_report,
    write_report,
)

CATS = Categories(
    [
        Category(1, "road", False),
        Category(2, "sidewalk", False),
        Category(3, "car", True),
        Category(4, "unused", False),
    ]
)


def _ann(file_name: str, *, car_shift: int = 0, sidewalk_row: int = 4) -> PanopticAnnotation:
    m = np.zeros((8, 12), np.int32)
    m[:sidewalk_row] = 1
    m[sidewalk_row:] = 2
    m[1:3, 2 + car_shift : 5 + car_shift] = 3001
    return PanopticAnnotation.from_map(m, {1: 1, 2: 2, 3001: 3}, file_name=file_name)


def test_report_of_identical_annotators(tmp_path):
    # regression: an empty habits table made the annotator and class tables fill a float
    # column with "" (a pandas warning, an error under filterwarnings=error)
    study = Study.from_annotations({n: [_ann("a.png"), _ann("b.png")] for n in "xyz"}, CATS)
    out = tmp_path / "r"
    write_report(build_report(study), out)
    classes = pd.read_csv(out / "classes.csv")
    assert classes["pq"].tolist() == [1.0, 1.0, 1.0]
    assert classes["diagnosis"].isna().all()
    annotators = pd.read_csv(out / "annotators.csv")
    assert annotators["loo_pq"].tolist() == [1.0, 1.0, 1.0]
    assert annotators["systematic"].isna().all()
    assert pd.read_csv(out / "overall.csv").set_index("group").loc["All", "pq"] == 1.0
    md = (out / "report.md").read_text()
    assert "unused" not in md  # a class nobody used gets no row (and no 0)


def test_unused_class_is_nan_in_every_api_table():
    study = Study.from_annotations(
        {
            "x": [_ann("a.png"), _ann("b.png")],
            "y": [_ann("a.png", car_shift=1, sidewalk_row=5), _ann("b.png")],
            "z": [_ann("a.png", car_shift=2)],  # z did not annotate b.png
        },
        CATS,
    )
    a = analyse(study)
    ca = a.pq.class_agreement().set_index("category_id")
    assert ca.loc[4, ["pq", "sq", "rq"]].isna().all()
    assert ca.loc[2, "pq"] == 0.875  # pooled over the ordered pairs and both images
    assert a.pixel.per_class.set_index("category_id").loc[4, ["fleiss_kappa", "alpha"]].isna().all()
    assert a.pixel.pair_class.query("category_id == 4")["kappa"].isna().all()
    loo = a.loo.per_class.query("category_id == 4")
    assert len(loo) == 3 and loo[["pq", "sq", "rq"]].isna().all().all()
    assert a.pixel.pairs.set_index(["a", "b"]).loc[("x", "z"), "pixels"] == 96
    assert not math.isnan(a.pq.pq_matrix().loc["x", "z"])


def test_region_crop_marks_the_disputed_pixels():
    from matplotlib.patches import Rectangle

    from agreement.plot import _disputed_mask, plot_region

    anns = {
        "x": _ann("a.png"),
        "y": _ann("a.png", sidewalk_row=5),  # row 4 is road for y, sidewalk for x
        "z": _ann("a.png", sidewalk_row=6),  # rows 4-5 road for z
    }
    region = {"bbox_x": 0, "bbox_y": 4, "bbox_w": 12, "bbox_h": 2, "category_a": 1,
              "category_b": 2, "kind": "boundary placement", "class_pair": "road <-> sidewalk"}
    mask = _disputed_mask(region, anns, (0, 2, 12, 8))
    expected = np.zeros((6, 12), bool)
    expected[2:4] = True  # image rows 4 and 5
    np.testing.assert_array_equal(mask, expected)
    ax = plot_region(region, anns, pad=2).axes[0]
    boxes = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert [(b.get_x(), b.get_y(), b.get_width(), b.get_height()) for b in boxes] == [
        (-0.5, 3.5, 12, 2)
    ]
    assert len(ax.collections) == 1  # the shaded disputed pixels
    assert len(ax.get_images()) == 4  # background + one outline layer per annotator
    same = dict(region, category_b=1)
    assert _disputed_mask(same, anns, (0, 2, 12, 8)) is None


def test_merging_annotator_is_named_from_the_others_segments():
    from agreement.report.traits import annotator_traits

    rows = []
    for ann in "abc":
        for other in "abc":
            if ann == other:
                continue
            merged = 4 if other == "b" else 0  # one segment of b covers two of a's / c's
            rows += [("merged" if k < merged else "matched") for k in range(12)]
    pairs = [(x, y) for x in "abc" for y in "abc" if x != y]
    seg = pd.DataFrame(
        {
            "annotator": [p[0] for p in pairs for _ in range(12)],
            "other": [p[1] for p in pairs for _ in range(12)],
            "category_id": 24,
            "status": rows,
            "small": False,
            "segments": 1,
        }
    )
    cats = Categories([Category(24, "person", True)])

    class NoPixels:  # pixel habits are not under test
        def confusion(self, a, b, categories=None):
            return pd.DataFrame([[1]], index=["person"], columns=["person"])

    traits = annotator_traits(NoPixels(), seg, ["a", "b", "c"], categories=cats)
    assert traits["annotator"].tolist() == ["b"]
    assert traits["kind"].tolist() == ["split"]
    assert traits["rate"].tolist() == [1 / 3]
    assert traits["text"].iloc[0] == (
        "merges adjacent person instances (33% of the others' person segments share one of "
        "their segments with a neighbour; the others 0%)"
    )


def test_small_misses_need_enough_missed_segments():
    from agreement.report.diagnose import Thresholds, diagnose_classes

    row = {"category_id": 33, "category": "bicycle", "isthing": True, "pq": 0.66, "sq": 0.85,
           "rq": 0.9, "boundary_iou": 0.85, "alpha": 0.86, "segments": 69, "split": 0,
           "merged": 0, "missed": 4, "small_segments": 3, "missed_small_share": 1 / 3,
           "missed_large_share": 0.05}
    confusion = pd.DataFrame(columns=["category_id", "other_id", "other", "pixels", "share"])
    few = diagnose_classes(pd.DataFrame([row]), confusion)
    assert [d.kind for d in few] == []  # 1 missed small bicycle of 3: no proposal
    many = dict(row, small_segments=15, missed_small_share=1 / 3)  # 5 of 15
    assert [d.kind for d in diagnose_classes(pd.DataFrame([many]), confusion)] == ["small_misses"]
    strict = Thresholds(small_missed_min=6)
    assert diagnose_classes(pd.DataFrame([many]), confusion, thresholds=strict) == []


def test_instance_rule_names_who_splits_and_who_merges():
    from agreement.report.collect import attach_evidence
    from agreement.report.proposals import Proposal

    p = Proposal("instances:27", "instances", (27,), "Say what counts as one truck",
                 "Annotate every truck as its own segment.", ("RQ 0.65",))
    traits = pd.DataFrame(
        {
            "annotator": ["bruno", "dana", "dana"],
            "kind": ["split", "merged", "pixels"],
            "category_id": [27, 27, 26],
            "other_id": pd.array([None, None, 27], dtype="Int64"),
            "head": ["merges adjacent truck instances", "splits truck instances",
                     "labels car as truck"],
            "text": [
                "merges adjacent truck instances (20% ...)",
                "splits truck instances (39% ...)",
                "labels car as truck (8% ...)",
            ],
        }
    )
    pairs = pd.DataFrame(columns=["class_pair", "category_a", "category_b", "regions", "pixels",
                                  "images", "dissenters"])
    (out,) = attach_evidence([p], traits, pairs, {27: "truck", 26: "car"}, 13)
    assert out.annotators == ("bruno", "dana")
    assert out.rule == (
        "Annotate every truck as its own segment. In this batch dana splits truck instances "
        "where the others do not: the rule must say that one truck cut into visible parts by "
        "an occluder, or built of parts, is one segment. In this batch bruno merges adjacent "
        "truck instances where the others do not: the rule must say that touching truck "
        "instances are separate segments."
    )
    assert out.evidence[1:] == (
        "annotator bruno merges adjacent truck instances (20% ...)",
        "annotator dana splits truck instances (39% ...)",
    )


def test_report_cli_refuses_a_foreign_out_before_the_long_work(tmp_path, monkeypatch, capsys):
    import agreement.report.build as build
    from agreement.cli import main

    def never(*args, **kwargs):
        raise AssertionError("the report was built before --out was checked")

    monkeypatch.setattr(build, "build_report", never)
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep")
    study = tmp_path / "study"
    for name in ("x", "y"):
        (study / name).mkdir(parents=True)
    assert main(["report", str(study), "--out", str(foreign), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("agreement report: error: output folder must be empty or hold a previous")
    assert (foreign / "notes.txt").read_text() == "keep"
