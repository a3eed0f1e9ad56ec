"""The committed sample study: it loads with the documented counts, its planted facts are
consistent with its files, and the generator writes the same bytes every time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, SAMPLE, tree_hashes
from PIL import Image

from agreement import load_study, read_coco_panoptic

ANNOTATORS = ("alice", "bruno", "chen", "dana")
PLANTED = json.loads((SAMPLE / "planted.json").read_text())


@pytest.mark.parametrize(
    ("batch", "first", "n_annotations"), [("batch1", 1, 51), ("batch2", 101, 52)]
)
def test_sample_loads_with_documented_counts(batch, first, n_annotations):
    study = load_study(SAMPLE / batch)
    assert study.annotators == ANNOTATORS
    assert study.images == tuple(f"street_{n:03d}.jpg" for n in range(first, first + 13))
    assert len(study.categories) == 12
    assert int(study.summary()["images"].sum()) == n_annotations
    missing = study.missing().values.tolist()
    assert missing == ([["street_013.jpg", "dana"]] if batch == "batch1" else [])
    assert PLANTED["batches"][batch]["missing"] == [
        {"image": i, "annotator": a} for i, a in missing
    ]
    assert {i.height for i in map(study.image_info, study.images)} == {512}
    assert {i.width for i in map(study.image_info, study.images)} == {1024}
    for image in study.images:
        assert (SAMPLE / "images" / image).is_file()


def test_every_sample_map_decodes_and_validates():
    """Reading checks areas, PNG sizes and ids both ways: the committed files are consistent."""
    for batch in ("batch1", "batch2"):
        study = load_study(SAMPLE / batch)
        n = 0
        for _, anns in study.iter_images():
            for ann in anns.values():
                assert ann.shape == (512, 1024)
                assert set(ann.category_ids.tolist()) <= set(study.categories)
                n += 1
        assert n == (51 if batch == "batch1" else 52)


def test_truth_is_not_in_the_study_folders():
    for batch in ("batch1", "batch2"):
        assert not (SAMPLE / batch / "truth").exists()
        truth = read_coco_panoptic(SAMPLE / "truth" / batch / "panoptic.json")
        assert len(truth.images) == 13


def _tables(batch: str, annotator: str) -> dict[str, dict[int, int]]:
    doc = json.loads((SAMPLE / batch / annotator / "panoptic.json").read_text())
    names = {i["id"]: i["file_name"] for i in doc["images"]}
    return {
        names[a["image_id"]]: {s["id"]: s["category_id"] for s in a["segments_info"]}
        for a in doc["annotations"]
    }


def test_planted_instances_and_events_match_the_files():
    kinds: dict[tuple[str, str], int] = {}
    for batch, bdoc in PLANTED["batches"].items():
        tables = {a: _tables(batch, a) for a in ANNOTATORS}
        for image, record in bdoc["per_image"].items():
            for inst in record["instances"].values():
                for a, mine in inst["annotators"].items():
                    for sid, cid in zip(mine["segment_ids"], mine["category_ids"], strict=True):
                        assert tables[a][image][sid] == cid, (batch, image, a, sid)
            for event in record["events"]:
                kinds[event["kind"], event["annotator"]] = (
                    kinds.get((event["kind"], event["annotator"]), 0) + 1
                )
                table = tables[event["annotator"]][image]
                if event["kind"] == "merge":
                    assert event["segment_id"] in table and len(event["instances"]) >= 2
                elif event["kind"] in ("split", "class_swap"):
                    assert all(s in table for s in event["segment_ids"])
    assert {k for k, _ in kinds} == {"missed", "merge", "split", "class_swap", "occlusion_order"}
    assert {a for k, a in kinds if k == "merge"} == {"bruno"}  # the habits of the README
    assert {a for k, a in kinds if k == "split"} == {"dana"}
    assert ("occlusion_order", "alice") not in kinds
    assert kinds["occlusion_order", "dana"] > kinds["occlusion_order", "chen"]


def test_planted_merge_is_one_segment_over_two_true_instances():
    """A merge event's segment covers most of both true instances (checked on the maps)."""
    record = next(
        r
        for r in PLANTED["batches"]["batch1"]["per_image"].values()
        if any(e["kind"] == "merge" for e in r["events"])
    )
    image = next(i for i, r in PLANTED["batches"]["batch1"]["per_image"].items() if r is record)
    event = next(e for e in record["events"] if e["kind"] == "merge")
    ann = load_study(SAMPLE / "batch1").annotation(event["annotator"], image)
    truth = read_coco_panoptic(SAMPLE / "truth" / "batch1" / "panoptic.json").load(image)
    merged = ann.ids == event["segment_id"]
    for key in event["instances"]:
        inst = truth.ids == record["instances"][key]["true_segment_id"]
        assert np.count_nonzero(merged & inst) > 0.7 * np.count_nonzero(inst)


def test_planted_facts_are_documented_and_measured():
    assert set(PLANTED["facts"]) == {"a", "b", "c", "d"}
    b1, b2 = PLANTED["measured"]["batch1"], PLANTED["measured"]["batch2"]
    assert next(iter(b1["class_pair_disagreement_pixels"])) == "road / sidewalk"
    assert next(iter(b1["class_pair_top_in_images"])) == "road / sidewalk"
    for cls in ("road", "sidewalk"):
        ious = b1["class_iou_with_others"]
        assert min(ious, key=lambda a: ious[a][cls]) == "chen"
    assert PLANTED["road_sidewalk_batch2_over_batch1"] < 0.5
    assert b2["road_sidewalk_pixels_per_image_pair"] < b1["road_sidewalk_pixels_per_image_pair"]
    assert PLANTED["annotators"]["chen"]["curb_border"]["v1"]["anchor"] == "kerbside"


def _generate(out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "scripts" / "make_sample.py"),
            "--out",
            str(out),
            "--limit",
            "1",
            "--no-check",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_generator_is_deterministic_and_matches_the_committed_sample(tmp_path):
    runs = [_generate(tmp_path / "one"), _generate(tmp_path / "two")]  # concurrently
    for proc in runs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
    one, two = tree_hashes(tmp_path / "one"), tree_hashes(tmp_path / "two")
    assert one == two
    assert "batch1/alice/png/street_001.png" in one and "images/street_101.jpg" in one
    # the maps and photos of the first images equal the committed ones (compared decoded: PNG and
    # JPEG encoders of other Pillow versions may write other bytes for the same pixels)
    for name in one:
        if name.endswith((".png", ".jpg")):
            fresh = np.asarray(Image.open(tmp_path / "one" / name), dtype=np.int16)
            kept = np.asarray(Image.open(SAMPLE / name), dtype=np.int16)
            if name.endswith(".png"):
                np.testing.assert_array_equal(fresh, kept, err_msg=name)
            else:
                assert np.abs(fresh - kept).mean() < 1.0, name
