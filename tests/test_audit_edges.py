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
    # regression: an empty findings list made the annotator and class tables fill a float
    # column with "" (a pandas warning, an error under filterwarnings=error)
    study = Study.from_annotations({n: [_ann("a.png"), _ann("b.png")] for n in "xyz"}, CATS)
    out = tmp_path / "r"
    write_report(build_report(study), out)
    classes = pd.read_csv(out / "classes.csv")
    assert classes["pq"].tolist() == [1.0, 1.0, 1.0]
    assert classes["findings"].isna().all()
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
