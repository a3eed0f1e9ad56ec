"""``agreement pq``: the JSON contract, the table, and errors as exit 2 with one line."""

import json
import shutil
from pathlib import Path

import pytest

from agreement.cli import main

REF = Path(__file__).parent / "data" / "reference" / "coco_real"
A = REF / "annotator_a" / "panoptic.json"
B = REF / "annotator_b" / "panoptic.json"
CLASS_KEYS = {"name", "isthing", "pq", "sq", "rq", "tp", "fp", "fn", "iou_sum"}
BOUNDARY_CLASS_KEYS = {"pq", "sq", "rq", "tp", "fp", "fn", "iou_sum", "mean_boundary_iou"}


def test_json_shape_and_values(tmp_path, capsys):
    out = tmp_path / "out.json"
    code = main(["pq", str(A), str(B), "--ref-png-dir", str(A.parent / "png"),
                 "--other-png-dir", str(B.parent / "png"), "--json", str(out)])
    assert code == 0
    doc = json.loads(out.read_text())
    assert set(doc) == {"All", "Things", "Stuff", "per_class", "boundary"}
    for group in ("All", "Things", "Stuff"):
        assert set(doc[group]) == {"pq", "sq", "rq", "n"}
        assert set(doc["boundary"][group]) == {"pq", "sq", "rq", "n", "mean_boundary_iou"}
    assert len(doc["per_class"]) == 133
    assert all(set(v) == CLASS_KEYS for v in doc["per_class"].values())
    assert all(set(v) == BOUNDARY_CLASS_KEYS for v in doc["boundary"]["per_class"].values())
    ref = json.loads((REF / "ref_ab.json").read_text())
    assert doc["All"]["pq"] == pytest.approx(ref["pq"]["All"]["pq"], abs=1e-12)
    assert doc["boundary"]["All"]["pq"] == pytest.approx(ref["boundary_pq"]["All"]["pq"],
                                                         abs=1e-12)
    assert doc["per_class"]["2"]["pq"] is None  # bicycle never occurs: undefined, not 0
    assert (doc["per_class"]["1"]["tp"], doc["per_class"]["1"]["fn"]) == (23, 3)
    assert doc["per_class"]["1"]["name"] == "person" and doc["per_class"]["1"]["isthing"] is True
    table = capsys.readouterr().out
    assert "All" in table and "66.5" in table and "BPQ" in table


def test_png_folder_beside_json_is_the_default(tmp_path, capsys):
    out = tmp_path / "out.json"
    assert main(["pq", str(B), str(A), "--json", str(out), "--no-boundary", "--per-class"]) == 0
    assert "person" in capsys.readouterr().out
    doc = json.loads(out.read_text())
    assert "boundary" not in doc
    ref = json.loads((REF / "ref_ba.json").read_text())
    assert doc["All"]["pq"] == pytest.approx(ref["pq"]["All"]["pq"], abs=1e-12)


def one_error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("agreement pq: error:")
    return err[0]


def test_missing_file_exits_2(tmp_path, capsys):
    assert main(["pq", str(tmp_path / "nope.json"), str(B)]) == 2
    assert "nope.json" in one_error_line(capsys)


def test_other_missing_an_image_exits_2(tmp_path, capsys):
    doc = json.loads(B.read_text())
    doc["annotations"] = doc["annotations"][:1]
    other = tmp_path / "b.json"
    other.write_text(json.dumps(doc))
    shutil.copytree(B.parent / "png", tmp_path / "png")
    assert main(["pq", str(A), str(other)]) == 2
    assert "OTHER must annotate every image of REF" in one_error_line(capsys)


def test_wrong_area_in_ref_exits_2(tmp_path, capsys):
    doc = json.loads(A.read_text())
    doc["annotations"][0]["segments_info"][0]["area"] += 1
    ref = tmp_path / "a.json"
    ref.write_text(json.dumps(doc))
    shutil.copytree(A.parent / "png", tmp_path / "png")
    assert main(["pq", str(ref), str(B), "--other-png-dir", str(B.parent / "png")]) == 2
    assert "'area' must equal its pixel count" in one_error_line(capsys)


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_read_png_ids_equals_rgb2id(tmp_path, mode):
    import numpy as np
    from PIL import Image

    from agreement.io._files import read_png_ids, read_png_rgb
    from agreement.io.coco_panoptic import rgb2id

    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, size=(5, 7, len(mode)), dtype=np.uint8)
    Image.fromarray(arr, mode=mode).save(tmp_path / "x.png")
    ids = read_png_ids(tmp_path / "x.png")
    assert ids.dtype == np.int32 and ids.shape == (5, 7)
    np.testing.assert_array_equal(ids, rgb2id(read_png_rgb(tmp_path / "x.png")))
    np.testing.assert_array_equal(ids, rgb2id(arr))


def test_pq_runs_on_every_core_by_default_with_the_serial_numbers(tmp_path, monkeypatch):
    """-j defaults to every available core for pq (threads: its kernels release the GIL); the
    document is byte for byte the serial one. --scheduler without -j leaves the workers to the
    cluster (n_jobs 1), and the other commands stay serial by default."""
    import agreement.study.pq as study_pq
    from agreement.cli import _common, build_parser

    seen = []
    real = study_pq.evaluate

    def spy(*args, **kw):
        seen.append(kw["n_jobs"])
        return real(*args, **kw)

    monkeypatch.setattr(study_pq, "evaluate", spy)
    monkeypatch.setattr("agreement.cli.pq.evaluate", spy, raising=False)
    docs = []
    for extra in ([], ["-j", "1"]):
        out = tmp_path / f"out{len(extra)}.json"
        assert main(["pq", str(A), str(B), "--no-boundary", "-q", "--json", str(out),
                     *extra]) == 0
        docs.append(out.read_bytes())
    from agreement import _native

    # without the compiled kernels (AGREEMENT_PURE=1) numpy holds the GIL: serial
    assert seen == [-1 if _native.kernels is not None else 1, 1]
    assert docs[0] == docs[1]
    parser = build_parser()
    args = parser.parse_args(["pq", str(A), str(B), "--scheduler", "tcp://127.0.0.1:1"])
    assert _common.n_jobs(args) == 1
    for argv in (["disagreement", "x"], ["report", "x", "--out", "y"]):
        assert _common.n_jobs(parser.parse_args(argv)) == _common.DEFAULT_JOBS == 1


def test_a_category_defined_otherwise_by_other_exits_2(tmp_path, capsys):
    """OTHER may not redefine one of REF's ids (person as stuff): one line naming both."""
    other = tmp_path / "b"
    shutil.copytree(B.parent, other)
    doc = json.loads((other / "panoptic.json").read_text())
    next(c for c in doc["categories"] if c["id"] == 1)["isthing"] = 0
    (other / "panoptic.json").write_text(json.dumps(doc))
    assert main(["pq", str(A), str(other / "panoptic.json"), "--no-boundary"]) == 2
    line = one_error_line(capsys)
    assert "annotator 'other'" in line and "category 1 'person' must be a thing" in line


SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "batch1"


@pytest.mark.skipif(not SAMPLE.exists(), reason="data/sample is not there")
def test_align_by_file_name_and_skip_the_images_other_lacks(tmp_path, capsys):
    """The sample's dana numbers her images from 501 and lacks street_013: by image_id nothing
    pairs (one line naming her file, with the hint), by file name 12 of 13 pair; --missing skip
    evaluates those 12, as a study of the two on the shared images does."""
    from agreement import evaluate, load_study

    ref, other = SAMPLE / "alice" / "panoptic.json", SAMPLE / "dana" / "panoptic.json"
    assert main(["pq", str(ref), str(other)]) == 2
    line = one_error_line(capsys)
    assert str(other) in line and "got 13 of 13 missing (by image_id)" in line
    assert "--align file_name" in line
    assert main(["pq", str(ref), str(other), "--align", "file_name"]) == 2
    line = one_error_line(capsys)
    assert "got 1 of 13 missing (by file_name), e.g. ['street_013.jpg']" in line
    assert "--missing skip" in line
    out = tmp_path / "pq.json"
    assert main(["pq", str(ref), str(other), "--align", "file_name", "--missing", "skip",
                 "--json", str(out), "--no-boundary"]) == 0
    captured = capsys.readouterr()
    assert "12 images" in captured.out and "In percent. PQ = SQ x RQ" in captured.out
    assert "note: 1 of REF's 13 images left out" in captured.err
    doc = json.loads(out.read_text())
    study = load_study(SAMPLE)
    shared = [i for i in study.images if i != "street_013.jpg"]
    want = evaluate(study, images=shared, boundary=False).pq("alice", "dana")
    assert doc["All"]["pq"] == pytest.approx(want.values["All"]["pq"], abs=1e-12)
    assert doc["All"]["n"] == want.values["All"]["n"]
