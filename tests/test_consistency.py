"""Human consistency protocol: hand-computed study, BSDS reproduction, CLI."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agreement.cli import main
from agreement.errors import AnnotationError
from agreement.io import load_study
from agreement.io.label_maps import annotation_from_labels
from agreement.model import Categories, Category, PanopticAnnotation, Study
from agreement.study.consistency import (
    PAIR_COLUMNS,
    ConsistencyPart,
    consistency_from_pairs,
    human_consistency,
    parsing_covering_by_class,
)
from agreement.study.runner import run

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AGREEMENT_SHARED_DIR", REPO.parent / "shared"))
BSDS = SHARED / "datasets" / "bsds500"

# image x: the two maps of test_region_metrics; image y: three 2x2 maps; image z: one annotator
STUDY = {
    "a": {"x": [[1, 1, 2, 2], [1, 1, 2, 2], [0, 3, 3, 3]], "y": [[1, 1], [2, 2]], "z": [[1]]},
    "b": {"x": [[5, 5, 5, 7], [5, 5, 0, 7], [9, 9, 9, 9]], "y": [[1, 1], [1, 1]]},
    "c": {"y": [[1, 2], [1, 2]]},
}
VI_X = 0.5 * 0.7219280948873623 + 0.3 * 0.9182958340544896  # H(A|B) + H(B|A), bits


@pytest.fixture
def study_dir(tmp_path):
    for annotator, images in STUDY.items():
        (tmp_path / annotator).mkdir()
        for image, labels in images.items():
            np.save(tmp_path / annotator / f"{image}.npy", np.array(labels))
    return tmp_path


def test_hand_study(study_dir):
    r = human_consistency(load_study(study_dir))
    assert r.n_images == 2 and r.skipped == ("z",)
    # covering pooled: x (7.45 + 8) / 22, y: 6 ordered pairs, weighted 2+2+4/3+4/3+2+2 over 24
    assert r.covering == pytest.approx((15.45 + 32 / 3) / (22 + 24))
    # PRI: x 39/45; y every pair 1/3. VI: x VI_X; y per annotator (1+2)/2, (1+1)/2, (2+1)/2
    assert r.pri == pytest.approx((39 / 45 + 1 / 3) / 2)
    assert r.vi == pytest.approx((VI_X + 4 / 3) / 2)
    # PQ: x gives tp 2 + 3, fp 1, fn 1; y gives no match, fp 10, fn 10
    assert (r.tp, r.fp, r.fn) == (5, 11, 11)
    assert r.iou_sum == pytest.approx(1.8 + 0.8 + 2 / 3 + 0.75)
    assert r.pq == pytest.approx(r.iou_sum / 16)
    assert r.sq == pytest.approx(r.iou_sum / 5) and r.rq == pytest.approx(5 / 16)
    per = r.to_frame().set_index("image")
    assert per.loc["y", "n_annotators"] == 3
    assert per.loc["y", "covering"] == pytest.approx(4 / 9)
    assert per.loc["y", "vi"] == pytest.approx(4 / 3)
    assert per.loc["x", "pq"] == pytest.approx((1.8 + 0.8 + 2 / 3 + 0.75) / 6)
    assert list(r.pairs.columns) == list(PAIR_COLUMNS) and len(r.pairs) == 2 + 6


def test_aggregation_is_from_sums(study_dir):
    r = human_consistency(load_study(study_dir))
    again = consistency_from_pairs(r.pairs.sample(frac=1.0, random_state=0))
    assert again.covering == pytest.approx(r.covering) and again.pri == pytest.approx(r.pri)
    for key in ("covering", "pri", "vi", "pq", "sq", "rq", "tp", "fp", "fn", "n_images"):
        assert again.to_dict()[key] == pytest.approx(r.to_dict()[key])
    empty = consistency_from_pairs(pd.DataFrame(columns=list(PAIR_COLUMNS)))
    assert empty.n_images == 0 and math.isnan(empty.covering) and math.isnan(empty.pq)


def test_panoptic_study_is_class_agnostic_and_parsing_covering():
    cats = Categories([Category(10, "car", True), Category(20, "road", False)])

    class Source:
        def __init__(self, ids, table):
            self.name, self.categories = "mem", cats
            self.ann = PanopticAnnotation.from_map(np.array(ids), table, file_name="img.png")
            self.images = (self.ann.image,)

        def load(self, file_name):
            return self.ann

    study = Study({
        "a": Source([[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 3, 0]], {1: 10, 2: 10, 3: 20}),
        "b": Source([[4, 4, 4, 4], [4, 4, 4, 4], [5, 5, 6, 6]], {4: 10, 5: 20, 6: 20}),
    })
    r = human_consistency(study)
    # classes are ignored; the only IoU above 0.5 is 3 <-> 5 (2/3), in each direction
    assert (r.n_images, r.tp, r.iou_sum) == (1, 2, pytest.approx(4 / 3))
    frame = parsing_covering_by_class(study, normalize_by_image_size=False)
    assert frame.columns.tolist() == ["category_id", "category", "isthing", "weighted_iou",
                                      "gt_area", "covering"]
    assert frame.category.tolist() == ["car", "road"]
    # car: a by b 8 x 0.5, b by a 8 x 0.5 -> 0.5; road: a by b 3 x 2/3, b by a 2 x 2/3 + 2 x 1/4
    assert frame.covering.tolist() == pytest.approx([0.5, (2 + 4 / 3 + 0.5) / 7])


@pytest.mark.shared
@pytest.mark.slow
@pytest.mark.skipif(not BSDS.is_dir(), reason="../shared/datasets/bsds500 is absent")
@pytest.mark.parametrize(("split", "n_images", "covering", "pri", "vi"),
                         [("val", 100, 0.73, 0.87, 1.16), ("test", 200, 0.72, 0.88, 1.17)])
def test_bsds_human_figures(split, n_images, covering, pri, vi):
    r = human_consistency(load_study(BSDS / split))
    assert r.n_images == n_images
    assert (round(r.covering, 2), round(r.pri, 2), round(r.vi, 2)) == (covering, pri, vi)


def test_cli(study_dir, tmp_path, capsys):
    out, csv, pairs = tmp_path / "out.json", tmp_path / "per_image.csv", tmp_path / "pairs.csv"
    png = tmp_path / "per_image.png"
    code = main(["consistency", str(study_dir), "--json", str(out), "--csv", str(csv),
                 "--pairs-csv", str(pairs), "--plot", str(png)])
    assert code == 0
    data = json.loads(out.read_text())
    assert {"n_images", "covering", "pri", "vi", "pq", "sq", "rq", "tp", "fp", "fn"} <= set(data)
    assert data["n_images"] == 2 and data["tp"] == 5
    per = pd.read_csv(csv)
    assert per.image.tolist() == ["x", "y"] and "covering" in per.columns
    assert len(pd.read_csv(pairs)) == 8
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = capsys.readouterr().out.splitlines()
    assert text[1].startswith("covering ") and text[1].endswith(" bits")
    assert "VI, variation of information: 0 = identical, higher = more different" in text[-1]


def test_cli_bad_study(tmp_path, capsys):
    assert main(["consistency", str(tmp_path / "missing")]) == 2
    assert "must be a folder" in capsys.readouterr().err


def test_least_consistent(study_dir):
    r = human_consistency(load_study(study_dir))
    assert r.least_consistent(1).image.tolist() == ["y"]
    assert r.least_consistent(2, by="vi").image.tolist() == ["y", "x"]
    with pytest.raises(ValueError, match="per-image column"):
        r.least_consistent(by="nope")


def test_cli_by_class(study_dir, tmp_path, capsys):
    out = tmp_path / "classes.csv"
    assert main(["consistency", str(study_dir), "--by-class", str(out)]) == 0
    frame = pd.read_csv(out)
    assert frame.category.tolist() == ["region"]
    assert "parsing covering" in capsys.readouterr().out


def test_class_agnostic_pq_equals_the_study_pq(tmp_path):
    """Label maps flow through the study machinery: its PQ (one thing class) equals region_pq."""
    study_module = pytest.importorskip("agreement.study")
    rng = np.random.default_rng(3)
    for annotator in ("a", "b", "c"):
        (tmp_path / annotator).mkdir()
        for image in ("i1", "i2"):
            base = np.repeat(np.repeat(rng.integers(0, 4, (4, 5)), 3, axis=0), 3, axis=1)
            np.save(tmp_path / annotator / f"{image}.npy", base)
    study = load_study(tmp_path)
    mine = human_consistency(study).pairs.set_index(["image", "ref", "other"]).sort_index()
    result = study_module.evaluate(study, boundary=False)
    theirs = (result.per_image.groupby(["image", "ref", "other"])[["tp", "fp", "fn", "iou_sum"]]
              .sum().sort_index())
    assert len(theirs) == len(mine) == 12
    for column in ("tp", "fp", "fn"):
        assert theirs[column].tolist() == mine[column].tolist()
    assert theirs.iou_sum.tolist() == pytest.approx(mine.iou_sum.tolist(), abs=1e-12)


def test_identical_annotators_agree_perfectly(tmp_path):
    labels = np.array([[1, 1, 2], [0, 3, 3]])
    for annotator in ("a", "b", "c"):
        (tmp_path / annotator).mkdir()
        np.save(tmp_path / annotator / "img.npy", labels)
    r = human_consistency(load_study(tmp_path))
    assert (r.covering, r.pri, r.vi, r.pq, r.tp, r.fp, r.fn) == (1.0, 1.0, 0.0, 1.0, 18, 0, 0)


def test_annotations_of_different_sizes(tmp_path):
    for annotator, shape in (("a", (2, 3)), ("b", (3, 2))):
        (tmp_path / annotator).mkdir()
        np.save(tmp_path / annotator / "img.npy", np.ones(shape, int))
    with pytest.raises(AnnotationError, match=r"image 'img': annotations must have the same size"):
        human_consistency(load_study(tmp_path))


def test_plot_per_image(study_dir):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from agreement.study.consistency import plot_per_image

    r = human_consistency(load_study(study_dir))
    fig = plot_per_image(r)
    ax = fig.axes[0]
    assert ax.lines[0].get_ydata().tolist() == pytest.approx([4 / 9, 15.45 / 22])
    assert [t.get_text() for t in ax.texts] == ["y", "x"]
    fig2, ax2 = plt.subplots()
    assert plot_per_image(r, measure="vi", ax=ax2) is fig2
    assert ax2.get_ylabel() == "vi (bits)"
    plt.close(fig2)


def test_process_pool_gives_the_same_result(study_dir):
    study = load_study(study_dir)
    serial, parallel = human_consistency(study), human_consistency(study, n_jobs=2)
    pd.testing.assert_frame_equal(serial.pairs, parallel.pairs)
    assert serial.to_dict() == parallel.to_dict()


def test_cli_no_shared_image_is_refused_and_writes_nothing(tmp_path, capsys):
    m = np.array([[1, 1, 2], [1, 2, 2]], np.int32)
    for who, name in [("a", "img1"), ("b", "IMG1")]:
        (tmp_path / "study" / who).mkdir(parents=True)
        np.save(tmp_path / "study" / who / f"{name}.npy", m)
    out = tmp_path / "out.json"
    assert main(["consistency", str(tmp_path / "study"), "--json", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "nothing to compare: no image is annotated by two annotators, got 2 image(s)" in err
    assert "['IMG1', 'img1'] differ only in case or extension" in err
    assert not out.exists()


def _random_study(seed: int, layout: str) -> Study:
    """Random label maps of 10 images: every image two annotators ("two": the pass's groups
    are in order), two or three ("mixed"), or mixed with a pair that shares no labelled pixel
    (a NaN Rand index and VI) and an image of one annotator ("nan")."""
    rng = np.random.default_rng(seed)
    anns: dict[str, list] = {"a": [], "b": [], "c": []}
    for k in range(10):
        who = "ab" if layout == "two" or k % 2 else "abc"
        if layout == "nan" and k == 9:
            who = "a"
        for w in who:
            labels = rng.integers(0, 5, (6, 8))
            if layout == "nan" and k == 4:  # a labels the left half only, b the right half
                labels[:, 4:] = 0 if w == "a" else labels[:, 4:]
                labels[:, :4] = 0 if w == "b" else labels[:, :4]
            anns[w].append(annotation_from_labels(labels, file_name=f"img{k}.png"))
    return Study.from_annotations({w: a for w, a in anns.items() if a},
                                  Categories([Category(1, "region", True)]))


def _same_figures(a, b):
    assert json.dumps(a.to_dict()) == json.dumps(b.to_dict())


@pytest.mark.parametrize("layout", ["two", "mixed", "nan"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_part_equals_the_whole_table_path(seed, layout):
    study = _random_study(seed, layout)
    r = human_consistency(study)
    # the pre-computed path: the whole pair table grouped by names
    old = consistency_from_pairs(r.pairs, skipped=r.skipped)
    _same_figures(r, old)
    pd.testing.assert_frame_equal(r.per_image, old.per_image, check_exact=True)
    if layout == "nan":
        assert r.pairs.rand_index.isna().sum() == 2 and r.skipped == ("img9.png",)
    # neither table kept: the same figures, empty tables of the same columns
    bare, = run(study, [ConsistencyPart(per_image=False, pairs=False)])
    _same_figures(bare, old)
    assert list(bare.per_image.columns) == list(old.per_image.columns) and bare.per_image.empty
    assert list(bare.pairs.columns) == list(PAIR_COLUMNS) and bare.pairs.empty
    only_images, = run(study, [ConsistencyPart(pairs=False)])
    pd.testing.assert_frame_equal(only_images.per_image, old.per_image, check_exact=True)
    only_pairs, = run(study, [ConsistencyPart(per_image=False)])
    pd.testing.assert_frame_equal(only_pairs.pairs, r.pairs, check_exact=True)


def test_part_images():
    every = _random_study(0, "mixed")
    assert ConsistencyPart().images(every, None) is None  # every image: no list of names
    assert ConsistencyPart(("img3.png", "img1.png")).images(every, None) == ["img3.png",
                                                                              "img1.png"]
    some = _random_study(0, "nan")
    assert ConsistencyPart().images(some, None) == [f"img{k}.png" for k in range(9)]
    r = human_consistency(some, images=["img9.png", "img2.png"])
    assert (r.n_images, r.skipped, r.per_image.image.tolist()) == (1, ("img9.png",),
                                                                   ["img2.png"])


def test_part_without_images():
    study = _random_study(0, "two")
    r, = run(study, [ConsistencyPart(per_image=False, pairs=False)], images=[])
    assert (r.n_images, r.to_dict()["n_pairs"], r.tp) == (0, 0, 0)
    assert math.isnan(r.covering) and math.isnan(r.pri) and r.per_image.empty


def test_cli_figures_alone_are_those_with_the_tables(study_dir, tmp_path, capsys):
    lone, full = tmp_path / "lone.json", tmp_path / "full.json"
    assert main(["consistency", str(study_dir), "--json", str(lone)]) == 0
    text = capsys.readouterr().out
    assert main(["consistency", str(study_dir), "--json", str(full), "--csv",
                 str(tmp_path / "i.csv"), "--pairs-csv", str(tmp_path / "p.csv")]) == 0
    assert lone.read_bytes() == full.read_bytes() and text == capsys.readouterr().out
    assert json.loads(lone.read_text())["n_pairs"] == 8
