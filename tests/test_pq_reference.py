"""PQ per image pair against the reference implementation's golden values (tests/data/reference)."""

import json
from pathlib import Path

import pandas as pd
import pytest

from agreement.io import read_coco_panoptic
from agreement.matching import match_segments, segment_overlap
from agreement.metrics.pq import pq_counts, pq_result

REF = Path(__file__).parent / "data" / "reference"
STUDIES = ("coco_real", "synthetic_mixed")
TOL = 1e-9


@pytest.fixture(scope="module")
def decoded():
    """Every annotation of both studies, decoded once: {study: {annotator: {image: ann}}}."""
    out = {}
    for study in STUDIES:
        out[study] = {}
        for who in "ab":
            src = read_coco_panoptic(REF / study / f"annotator_{who}" / "panoptic.json")
            out[study][who] = (src, {i.file_name: src.load(i.file_name) for i in src.images})
    return out


@pytest.mark.parametrize("study", STUDIES)
@pytest.mark.parametrize("roles", ["ab", "ba"])
def test_pq_matches_reference(decoded, study, roles):
    ref_src, ref_anns = decoded[study][roles[0]]
    _, other_anns = decoded[study][roles[1]]
    golden = json.loads((REF / study / f"ref_{roles}.json").read_text())
    per_image = {p["file_name"]: p["per_class"] for p in golden["per_image"]}
    frames = []
    for name, ann in ref_anns.items():
        ov = segment_overlap(ann, other_anns[name])
        c = pq_counts(ov, match_segments(ov)).to_frame()
        got = {str(r.category_id): r for r in c.itertuples()}
        want = per_image[name.replace(".jpg", ".png")]
        assert set(got) == set(want)
        for cid, w in want.items():
            assert (got[cid].tp, got[cid].fp, got[cid].fn) == (w["tp"], w["fp"], w["fn"])
            assert got[cid].iou_sum == pytest.approx(w["iou_sum"], abs=TOL)
        frames.append(c)
    total = pd.concat(frames).groupby("category_id", as_index=False).sum()
    result = pq_result(total, ref_src.categories).to_dict()
    for group in ("All", "Things", "Stuff"):
        assert result[group]["n"] == golden["pq"][group]["n"]
        for k in ("pq", "sq", "rq"):
            assert result[group][k] == pytest.approx(golden["pq"][group][k], abs=TOL)
    for cid, w in golden["pq"]["per_class"].items():
        if not w["counted"]:
            assert result["per_class"][cid]["pq"] is None
            continue
        g = result["per_class"][cid]
        assert (g["tp"], g["fp"], g["fn"]) == (w["tp"], w["fp"], w["fn"])
        for k in ("pq", "sq", "rq", "iou_sum"):
            assert g[k] == pytest.approx(w[k], abs=TOL)
