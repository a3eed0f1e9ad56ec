"""Study-level results against the reference implementations' golden values.

tests/data/reference holds two 2-annotator studies and what panopticapi (PQ) and the Boundary IoU
authors' code (Boundary PQ) compute on them, in both roles. Integers must match exactly; floats
agree bit for bit (IoUs are summed in the reference's order), checked here to 1e-12.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agreement.io import read_coco_panoptic
from agreement.model import Study
from agreement.study.pq import evaluate

REF = Path(__file__).parent / "data" / "reference"
STUDIES = ("coco_real", "synthetic_mixed")
TOL = 1e-12


def load(study):
    a = read_coco_panoptic(REF / study / "annotator_a" / "panoptic.json")
    b = read_coco_panoptic(REF / study / "annotator_b" / "panoptic.json")
    return a, Study({"a": a, "b": b}, align="image_id")


@pytest.fixture(scope="module")
def results():
    out = {}
    for name in STUDIES:
        a, study = load(name)
        out[name] = evaluate(study, images=[str(i.id) for i in a.images])
    return out


def golden(study, roles):
    return json.loads((REF / study / f"ref_{roles}.json").read_text())


def assert_section(ours, ref):
    for group in ("All", "Things", "Stuff"):
        assert ours[group]["n"] == ref[group]["n"]
        for k in ("pq", "sq", "rq"):
            assert ours[group][k] == pytest.approx(ref[group][k], abs=TOL, rel=0), (group, k)
    for cid, want in ref["per_class"].items():
        got = ours["per_class"][cid]
        if not want["counted"]:
            assert got["pq"] is None and got["tp"] == got["fp"] == got["fn"] == 0
            continue
        assert (got["tp"], got["fp"], got["fn"]) == (want["tp"], want["fp"], want["fn"]), cid
        for k in ("pq", "sq", "rq", "iou_sum"):
            assert got[k] == pytest.approx(want[k], abs=TOL, rel=0), (cid, k)


@pytest.mark.parametrize("study", STUDIES)
@pytest.mark.parametrize("roles", ["ab", "ba"])
def test_pq_and_boundary_pq(results, study, roles):
    ref = golden(study, roles)
    ours = results[study].pq(roles[0], roles[1]).to_dict()
    assert_section(ours, ref["pq"])
    assert_section(ours["boundary"], ref["boundary_pq"])
    assert ours["boundary"]["All"]["mean_boundary_iou"] == pytest.approx(
        ref["boundary_iou_summary"]["mean_boundary_iou"], abs=1e-12)


@pytest.mark.parametrize("study", STUDIES)
@pytest.mark.parametrize("roles", ["ab", "ba"])
def test_bit_for_bit(results, study, roles):
    ref = golden(study, roles)
    ours = results[study].pq(roles[0], roles[1]).to_dict()
    for cid, want in ref["pq"]["per_class"].items():
        if want["counted"]:
            assert ours["per_class"][cid]["iou_sum"] == want["iou_sum"]
            assert ours["boundary"]["per_class"][cid]["iou_sum"] == \
                ref["boundary_pq"]["per_class"][cid]["iou_sum"]
    assert ours["All"]["pq"] == ref["pq"]["All"]["pq"]


@pytest.mark.parametrize("study", STUDIES)
@pytest.mark.parametrize("roles", ["ab", "ba"])
def test_per_image_counts(results, study, roles):
    ref = golden(study, roles)
    t = results[study].per_image
    t = t[(t["ref"] == roles[0]) & (t["other"] == roles[1])]
    got = {(str(r.image), str(r.category_id)): r for r in t.itertuples()}
    want = {(str(p["image_id"]), cid): c
            for p in ref["per_image"] for cid, c in p["per_class"].items()}
    assert set(got) == set(want)
    for key, w in want.items():
        g = got[key]
        assert (g.tp, g.fp, g.fn) == (w["tp"], w["fp"], w["fn"]), key
        assert g.iou_sum == pytest.approx(w["iou_sum"], abs=TOL, rel=0)


@pytest.mark.parametrize("study", STUDIES)
@pytest.mark.parametrize("roles", ["ab", "ba"])
def test_tp_pairs(results, study, roles):
    ref = golden(study, roles)
    seg = results[study].segments
    seg = seg[(seg["annotator"] == roles[0]) & (seg["other"] == roles[1])
              & (seg["status"] == "matched")]
    got = {(str(r.image), r.segment_id): r for r in seg.itertuples()}
    assert len(got) == len(ref["tp_pairs"])
    for p in ref["tp_pairs"]:
        g = got[(str(p["image_id"]), p["gt_id"])]
        assert g.partner_segment_id == p["pred_id"] and g.category_id == p["category_id"]
        assert g.area == p["gt_area_json"]
        assert g.iou == pytest.approx(p["mask_iou"], abs=TOL, rel=0)
        assert g.boundary_iou == pytest.approx(p["boundary_iou"], abs=TOL, rel=0)
        assert g.boundary_score == pytest.approx(p["bpq_iou"], abs=TOL, rel=0)
        assert g.boundary_matched == p["bpq_tp"]


def test_symmetric_form_lies_between_directions(results):
    res = results["synthetic_mixed"]
    ab, ba, sym = res.pq("a", "b"), res.pq("b", "a"), res.pq("a", "b", symmetric=True)
    assert sym.symmetric and res.pq("b", "a", symmetric=True).pq == sym.pq
    c = sym.per_class.set_index("category_id")
    cab = ab.per_class.set_index("category_id")
    cba = ba.per_class.set_index("category_id")
    assert (c["tp"] == cab["tp"] + cba["tp"]).all()
    assert (c["fp"] == cab["fp"] + cba["fp"]).all()
    assert min(ab.pq, ba.pq) - 0.05 < sym.pq < max(ab.pq, ba.pq) + 0.05


def test_study_tables(results):
    res = results["coco_real"]
    m = res.pq_matrix()
    assert list(m.index) == ["a", "b"] and np.isnan(m.loc["a", "a"])
    assert m.loc["a", "b"] == res.pq("a", "b").pq
    agree = res.annotator_agreement().set_index("annotator")
    assert agree.loc["a", "pq_as_ref"] == res.pq("a", "b").pq
    assert agree.loc["a", "pq"] == agree.loc["b", "pq"] == res.pq("a", "b", symmetric=True).pq
    cls = res.class_agreement().set_index("category_id")
    ppc = res.per_pair_class.groupby("category_id")["tp"].sum()
    assert (cls["tp"] == ppc.reindex(cls.index)).all()
    assert cls.loc[1, "n_pairs"] == 2
    assert set(res.segments["status"]) <= {"matched", "missed", "split", "merged",
                                          "class_confused", "crowd", "ignored"}
    assert res.segments["partner_segment_id"].dtype == pd.Int64Dtype()


def test_parallel_equals_serial(results):
    a, study = load("coco_real")
    par = evaluate(study, images=[str(i.id) for i in a.images], n_jobs=2)
    ser = results["coco_real"]
    pd.testing.assert_frame_equal(par.segments, ser.segments)
    pd.testing.assert_frame_equal(par.per_image, ser.per_image)
    pd.testing.assert_frame_equal(par.per_pair_class, ser.per_pair_class)
