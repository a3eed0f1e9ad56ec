"""hotcoco (a Rust implementation of panopticapi's ``pq_compute``) as an oracle for PQ counts.

Hypothesis draws small studies (1-3 images, maps with void, crowd segments of things and of
stuff, matched and unmatched segments, categories only one side uses); both annotators are
written as COCO panoptic exports, and hotcoco's per-class TP / FP / FN / IoU sums must equal
ours read back through the same files (PNG decoding, compaction, tables, matching). hotcoco is a
test extra; the module is skipped where it is not installed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agreement.io import read_coco_panoptic, write_coco_panoptic
from agreement.model import Categories, Category, ImageInfo, PanopticAnnotation, Study
from agreement.study import evaluate

panoptic = pytest.importorskip("hotcoco.panoptic")

CATS = Categories([Category(1, "person", True), Category(2, "car", True),
                   Category(3, "road", False), Category(4, "sky", False)])


@st.composite
def annotation(draw, shape: tuple[int, int], name: str, image_id: int,
               like: PanopticAnnotation | None = None) -> PanopticAnnotation:
    """A blocky map: up to 6 segments, void likely, some segments crowd; with ``like``, often a
    copy of that annotation with a few blocks relabelled (so that segments match)."""
    cell = draw(st.integers(1, 3))
    ch, cw = -(-shape[0] // cell), -(-shape[1] // cell)
    coarse = np.array(draw(st.lists(st.integers(0, 6), min_size=ch * cw, max_size=ch * cw)))
    labels = np.repeat(np.repeat(coarse.reshape(ch, cw), cell, 0), cell, 1)[: shape[0], : shape[1]]
    cats = {}
    if like is not None and draw(st.booleans()):
        keep = labels != 3  # most pixels copied from the reference's labels
        labels = np.where(keep, np.asarray(like.ids) % 65536 // 7, labels)
        cats = {s.id: s.category_id for s in like.segments}
    present = sorted(set(labels.ravel().tolist()) - {0})
    ids = np.where(labels > 0, labels * 65536 + 7 * labels, 0)  # ids using all three channels
    cats = {int(v * 65536 + 7 * v): cats.get(int(v * 65536 + 7 * v))
            or draw(st.sampled_from(sorted(CATS))) for v in present}
    crowd = [s for s in cats if draw(st.integers(0, 4)) == 0]
    ann = PanopticAnnotation.from_map(ids, cats, file_name=name, iscrowd=crowd)
    return PanopticAnnotation(ImageInfo(name, *shape, image_id), ann.ids, ann.segments)


@st.composite
def study_pair(draw) -> tuple[list[PanopticAnnotation], list[PanopticAnnotation]]:
    refs, others = [], []
    for i in range(draw(st.integers(1, 3))):
        shape = (draw(st.integers(2, 14)), draw(st.integers(2, 14)))
        refs.append(draw(annotation(shape, f"im{i}.jpg", i + 1)))
        others.append(draw(annotation(shape, f"im{i}.jpg", i + 1, like=refs[-1])))
    return refs, others


def ours(ref_json: Path, other_json: Path) -> dict[int, tuple[int, int, int, float]]:
    """Per-class sums as `agreement pq` computes them (REF in the reference role)."""
    ref, other = read_coco_panoptic(ref_json), read_coco_panoptic(other_json)
    study = Study({"ref": ref, "other": other}, align="image_id", categories=ref.categories)
    pc = evaluate(study, boundary=False).pq("ref", "other").per_class
    pc = pc[pc["counted"]]
    return {int(r.category_id): (int(r.tp), int(r.fp), int(r.fn), float(r.iou_sum))
            for r in pc.itertuples()}


def theirs(ref_json: Path, other_json: Path) -> dict[int, tuple[int, int, int, float]]:
    ev = panoptic.PanopticEval(str(ref_json), str(other_json))
    ev.evaluate()
    out = {}
    for cid, row in ev.results()["per_class"].items():
        if row["tp"] + row["fp"] + row["fn"]:
            out[int(cid)] = (row["tp"], row["fp"], row["fn"], row["iou"])
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pair=study_pair())
def test_per_class_counts_equal_hotcoco(pair):
    refs, others = pair
    with tempfile.TemporaryDirectory() as tmp:
        ref_json = write_coco_panoptic(refs, CATS, Path(tmp) / "ref.json")
        other_json = write_coco_panoptic(others, CATS, Path(tmp) / "other.json")
        got, want = ours(ref_json, other_json), theirs(ref_json, other_json)
    assert set(got) == set(want)
    for cid, (tp, fp, fn, iou) in want.items():
        assert got[cid][:3] == (tp, fp, fn), cid
        assert got[cid][3] == pytest.approx(iou, rel=1e-12, abs=1e-12), cid


def test_hotcoco_sees_the_crowd_rule_as_we_do(tmp_path):
    """A hand-made case: an unmatched segment mostly on the reference's crowd is no FP."""
    crowd = np.array([[1, 1, 1, 2], [1, 1, 1, 2]])
    other = np.array([[5, 5, 0, 6], [5, 5, 0, 6]])
    ref = PanopticAnnotation.from_map(crowd, {1: 1, 2: 3}, iscrowd=[1], file_name="a.jpg")
    oth = PanopticAnnotation.from_map(other, {5: 1, 6: 3}, file_name="a.jpg")
    info = ImageInfo("a.jpg", 2, 4, 1)
    r = write_coco_panoptic([PanopticAnnotation(info, ref.ids, ref.segments)], CATS,
                            tmp_path / "r.json")
    o = write_coco_panoptic([PanopticAnnotation(info, oth.ids, oth.segments)], CATS,
                            tmp_path / "o.json")
    assert ours(r, o) == theirs(r, o) == {3: (1, 0, 0, 1.0)}
