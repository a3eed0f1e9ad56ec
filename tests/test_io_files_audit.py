"""Audit of the shared file helpers through the CLI: output permissions, folders given where a
file is expected, atomicity of a failed write."""

import os
import stat
from pathlib import Path

import pytest

from agreement.cli import main
from agreement.errors import FormatError
from agreement.io._files import atomic_write, read_json

REF = Path(__file__).parent / "data" / "reference" / "coco_real"
A = REF / "annotator_a" / "panoptic.json"
B = REF / "annotator_b" / "panoptic.json"


def _umask() -> int:
    old = os.umask(0o022)
    os.umask(old)
    return old


def test_output_has_ordinary_file_permissions(tmp_path, capsys):
    out = tmp_path / "out.json"
    assert main(["pq", str(A), str(B), "--no-boundary", "--json", str(out)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~_umask()


def test_output_path_that_is_a_folder_is_refused(tmp_path, capsys):
    assert main(["pq", str(A), str(B), "--no-boundary", "--json", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == (f"agreement pq: error: file '{tmp_path}': output path must be a file, got an "
                   "existing folder\n")
    assert list(tmp_path.iterdir()) == []


def test_input_folder_instead_of_json_is_named(capsys):
    assert main(["pq", str(A.parent), str(B), "--no-boundary"]) == 2
    assert capsys.readouterr().err == (f"agreement pq: error: file '{A.parent}': path must be a "
                                       "JSON file, got a folder\n")
    with pytest.raises(FormatError, match=r"path must be a JSON file, got a folder"):
        read_json(A.parent)


def test_failed_write_leaves_neither_file_nor_temporary(tmp_path):
    target = tmp_path / "x.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv"]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("bbox", ["a", 0, 1, 1], r"'bbox' must be \[x, y, w, h\] of finite numbers, got "
                             r"\['a', 0, 1, 1\]"),
    ("bbox", [0, 0, 1, float("inf")], r"'bbox' must be \[x, y, w, h\] of finite numbers, got "
                                      r"\[0, 0, 1, inf\]"),
    ("area", float("nan"), r"'area' must be a finite number, got nan"),
    ("iscrowd", "0", r"'iscrowd' must be 0 or 1, got '0'"),
    ("iscrowd", None, r"'iscrowd' must be 0 or 1, got None"),
])
def test_bad_segment_fields_are_named_not_tracebacks(tmp_path, capsys, field, value, message):
    import json
    import shutil

    other = tmp_path / "b"
    shutil.copytree(B.parent, other)
    data = json.loads((other / "panoptic.json").read_text())
    seg = data["annotations"][0]["segments_info"][0]
    seg[field] = value
    (other / "panoptic.json").write_text(json.dumps(data))
    from agreement.io.coco_panoptic import read_coco_panoptic

    with pytest.raises(FormatError, match=rf"file '.*panoptic\.json', image "
                       rf"'{data['annotations'][0]['file_name'][:-4]}\.jpg', segment {seg['id']}: "
                       rf"{message}$"):
        read_coco_panoptic(other / "panoptic.json")
    assert main(["pq", str(A), str(other / "panoptic.json"), "--no-boundary"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_study_names_unknown_annotator_and_case_only_image_difference():
    from agreement.errors import StudyError
    from agreement.model import Categories, Category, PanopticAnnotation, Study

    cats = Categories([Category(1, "road", False)])
    ann = PanopticAnnotation.from_map([[1, 1]], {1: 1}, file_name="Street_01.jpg")
    study = Study.from_annotations({"a": [ann], "b": [ann]}, cats)
    with pytest.raises(StudyError, match=r"^annotator must be one of \['a', 'b'\], got 'c'$"):
        study.annotation("c", "Street_01.jpg")
    with pytest.raises(StudyError, match=r"^image 'street_01\.jpg' must be in the study \(names "
                       r"are case-sensitive: the study has 'Street_01\.jpg'\)$"):
        study.annotation("a", "street_01.jpg")
