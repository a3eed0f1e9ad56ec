"""What a study folder is: annotators, companions and skipped entries, as people keep them."""

from __future__ import annotations

import json
import os
import re
import sys

import numpy as np
import pytest
from conftest import TINY, TINY_TABLE, tree_hashes, write_export
from PIL import Image

from agreement.errors import FormatError, StudyError
from agreement.io import discover, load_study, open_study


def _export(folder, name="panoptic", images=("x.jpg",)):
    return write_export(folder, {i: (TINY, [dict(s) for s in TINY_TABLE]) for i in images},
                        name=name)


def _label_maps(folder, images=("x", "y")):
    folder.mkdir(parents=True)
    for i, stem in enumerate(images):
        Image.fromarray(np.full((4, 6), i + 1, np.uint8)).save(folder / f"{stem}.png")


@pytest.fixture
def messy(tmp_path):
    """Three exports among everything people keep in a study folder."""
    root = tmp_path / "study"
    _export(root / "alice")
    _export(root / "bruno")
    _export(root, name="chen")  # chen.json + its PNG folder chen/
    (root / "README.md").write_text("# street scenes\n")
    (root / "LICENSE").write_text("CC BY 4.0\n")
    (root / "notes.json").write_text(json.dumps({"todo": "ask chen about poles"}))
    (root / "other.json").write_text(json.dumps({"who": "me"}))
    (root / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (root / "__MACOSX").mkdir()
    (root / "__MACOSX" / "._alice").write_bytes(b"\0")
    (root / "alice.json~").write_text("{")
    (root / "images").mkdir()
    Image.fromarray(np.zeros((4, 6, 3), np.uint8)).save(root / "images" / "x.jpg")
    (root / "stray.mat").write_bytes(b"MATLAB 5.0 MAT-file")
    _label_maps(root / "previews")
    (root / "label_config.xml").write_text("<View><Image name='image'/></View>")
    (root / "scores.csv").write_text("a,b\n")
    return root


def test_the_png_folder_of_a_coco_panoptic_export_is_not_skipped_label_maps(tmp_path):
    """One annotator's folder as COCO writes it (panoptic.json + png/, the reader's default
    PNG folder, as data/sample/batch1/alice): png/ is the export's, not label maps skipped;
    beside an export that has its own folder, a png/ of maps is still skipped."""
    folder = tmp_path / "alice"
    _export(folder)
    (folder / "panoptic").rename(folder / "png")
    found = discover(folder)
    assert [(f.name, f.format) for f in found.annotators] == [("panoptic", "coco_panoptic")]
    assert found.skipped == () and found.note() is None
    assert load_study(folder, single=True).annotation("panoptic", "x.jpg").ids.shape == TINY.shape
    other = tmp_path / "bruno"
    _export(other)
    _label_maps(other / "png")
    reasons = {s.path.name: s.reason for s in discover(other).skipped}
    assert reasons == {"png": "label maps beside exports: name them in a study file to use them"}


def test_messy_folder_takes_the_exports_and_lists_what_it_skipped(messy):
    before = tree_hashes(messy)
    found = discover(messy)
    assert found.kind == "folder"
    assert [(f.name, f.format) for f in found.annotators] == [
        ("alice", "coco_panoptic"), ("bruno", "coco_panoptic"), ("chen", "coco_panoptic")]
    assert found.images_dir == messy / "images"
    assert sorted(p.name for p in found.companions) == ["LICENSE", "README.md", "notes.json"]
    reasons = {s.path.name: s.reason for s in found.skipped}
    assert reasons == {
        ".DS_Store": "hidden or system file",
        "__MACOSX": "hidden or system file",
        "alice.json~": "editor backup or partial download",
        "label_config.xml": "XML, not a CVAT export",
        "other.json": "JSON, not an export",
        "previews": "label maps beside exports: name them in a study file to use them",
        "scores.csv": "not an export",
        "stray.mat": ".mat file beside exports",
    }
    note = found.note()
    assert note.startswith(f"skipped 8 entries of {messy}: .DS_Store, __MACOSX/ (hidden or ")
    assert "previews/ (label maps beside exports" in note and "\n" not in note
    study = load_study(messy)
    assert study.annotators == ("alice", "bruno", "chen") and study.images == ("x.jpg",)
    opened = open_study(messy)
    assert opened.images_dir == messy / "images" and opened.discovery == found
    assert tree_hashes(messy) == before


def test_a_broken_export_stops_the_run_naming_it(messy):
    (messy / "dana.json").write_text('{"annotations": [{"segments_info": [')
    with pytest.raises(FormatError, match=r"dana\.json'.*must be valid JSON"):
        load_study(messy)
    (messy / "dana.json").write_text('{"annotations": [{"segm')  # no marker left: still refused
    with pytest.raises(FormatError, match=r"dana\.json'.*must be valid JSON"):
        discover(messy)
    (messy / "dana.json").unlink()
    (messy / "erin.xml").write_text("<annotations><image")
    with pytest.raises(FormatError, match=r"erin\.xml"):
        load_study(messy)
    (messy / "erin.xml").write_text("<View><Image")  # not a CVAT root, but broken: refused too
    with pytest.raises(FormatError, match=r"erin\.xml'.*well-formed XML"):
        discover(messy)


def test_two_exports_in_one_annotator_folder_are_ambiguous(messy):
    _export(messy / "alice", name="panoptic_old")
    with pytest.raises(StudyError, match=r"'[^']*alice' must hold one export, got 2: panoptic"
                                         r"\.json \(coco_panoptic\), panoptic_old\.json"):
        discover(messy)


def test_two_entries_with_one_annotator_name_are_ambiguous(messy):
    _export(messy / "chen", name="own")  # chen/ is no longer only the PNG folder of chen.json
    with pytest.raises(StudyError, match=r"got 'chen' from both .*chen/own\.json.*chen\.json"):
        discover(messy)


def test_an_export_in_the_annotations_subfolder_counts(tmp_path):
    _export(tmp_path / "alice" / "annotations", name="instances_default")
    (tmp_path / "alice" / "images").mkdir()
    _export(tmp_path / "bruno")
    found = discover(tmp_path)
    assert [f.path.relative_to(tmp_path).as_posix() for f in found.annotators] == [
        "alice/annotations/instances_default.json", "bruno/panoptic.json"]
    assert load_study(tmp_path).annotators == ("alice", "bruno")


def test_label_map_folders_are_annotators_when_there_is_no_export(tmp_path):
    _label_maps(tmp_path / "p1")
    _label_maps(tmp_path / "p2")
    (tmp_path / "stray.mat").write_bytes(b"not read")
    (tmp_path / "images").mkdir()  # photos, never an annotator
    Image.fromarray(np.zeros((4, 6), np.uint8)).save(tmp_path / "images" / "x.png")
    found = discover(tmp_path)
    assert found.kind == "label_maps" and [f.name for f in found.annotators] == ["p1", "p2"]
    assert [(s.path.name, s.reason) for s in found.skipped] == [
        ("stray.mat", ".mat file beside label maps")]
    assert load_study(tmp_path).annotators == ("p1", "p2")


def test_mat_files_alone_make_a_bsds_folder(tmp_path):
    for stem in ("100007", "100039"):
        (tmp_path / f"{stem}.mat").write_bytes(b"")
    (tmp_path / "README.txt").write_text("BSDS500 ground truth")
    found = discover(tmp_path)
    assert found.kind == "bsds" and found.annotators[0].path == tmp_path
    assert found.skipped == ()


def test_a_folder_without_exports_says_what_it_skipped(tmp_path):
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / "todo.json").write_text("[]")
    (tmp_path / "photos").mkdir()
    with pytest.raises(StudyError, match=r"must hold annotator exports, got none .*; skipped: "
                                         r"photos \(folder without an export\); todo\.json"):
        discover(tmp_path)


def test_json_min_and_stray_category_files_are_named(tmp_path):
    _export(tmp_path / "a")
    (tmp_path / "cats.json").write_text(json.dumps({"categories": [{"id": 1, "name": "car"}]}))
    (tmp_path / "study2.toml").write_text("")
    reasons = {s.path.name: s.reason for s in discover(tmp_path).skipped}
    assert reasons == {"cats.json": "categories: only categories.json is read as the study's "
                                    "category set",
                       "study2.toml": "a study file: pass it as the study to use it"}
    (tmp_path / "ls.json").write_text(json.dumps(
        [{"id": 1, "image": "x.jpg", "annotator": 1, "annotation_id": 3, "label": []}]))
    with pytest.raises(FormatError, match=r"ls\.json'.*got a JSON-MIN export"):
        discover(tmp_path)


@pytest.mark.skipif(sys.platform != "linux", reason="file names as bytes need a POSIX file system")
def test_undecodable_file_names_are_skipped_and_printable(tmp_path):
    _export(tmp_path / "a")
    _export(tmp_path / "b")
    os.close(os.open(os.path.join(os.fsencode(tmp_path), b"caf\xe9.csv"), os.O_CREAT | os.O_WRONLY))
    os.makedirs(os.path.join(os.fsencode(tmp_path), b"\xffb"))
    write_export(tmp_path / os.fsdecode(b"\xffb"), {"x.jpg": (TINY, [dict(s) for s in TINY_TABLE])})
    found = discover(tmp_path)
    note = found.note()
    assert "caf\\xe9.csv (not an export)" in note
    note.encode("utf-8")  # printable as is
    assert {"entry": "\\xffb/panoptic.json", "role": "annotator", "format": "coco_panoptic",
            "detail": "\\xffb"} in found.rows()


def test_study_file_naming_a_missing_export(tmp_path):
    _export(tmp_path / "alice")
    _export(tmp_path / "bruno")
    (tmp_path / "study.toml").write_text(
        '[annotators.alice]\npath = "alice/panoptic.json"\n'
        '[annotators.bruno]\npath = "bruno/panoptic.json"\n'
        '[annotators.carol]\npath = "carol/panoptic.json"\n')
    with pytest.raises(StudyError, match=r"annotator 'carol': export 'carol/panoptic\.json' must "
                                         r"exist, got no such file or folder \(1 of 3 missing\); "
                                         r".*missing_exports = \"skip\""):
        load_study(tmp_path)
    text = (tmp_path / "study.toml").read_text()
    (tmp_path / "study.toml").write_text('missing_exports = "skip"\n' + text)
    opened = open_study(tmp_path)
    assert opened.study.annotators == ("alice", "bruno")
    assert opened.discovery.kind == "study_file"
    assert opened.discovery.note() == (
        f"skipped 1 entry of {tmp_path / 'study.toml'}: carol/panoptic.json (named by the study "
        "file but missing (missing_exports = 'skip'))")
    (tmp_path / "study.toml").write_text('missing_exports = "sometimes"\n' + text)
    with pytest.raises(FormatError, match="'missing_exports' must be 'error' or 'skip'"):
        load_study(tmp_path)


def test_every_command_reads_the_messy_folder_and_notes_once(messy, tmp_path, capsys):
    from agreement.cli import main

    before = tree_hashes(messy)
    out = tmp_path / "report"
    assert main(["report", str(messy), "--out", str(out), "--bootstrap", "0"]) == 0
    err = capsys.readouterr().err.splitlines()
    notes = [line for line in err if line.startswith("note: skipped 8 entries of")]
    assert len(notes) == 1 and "stray.mat (.mat file beside exports)" in notes[0]
    html = (out / "report.html").read_text(encoding="utf-8")  # the photos folder was found
    assert re.search(r"<td>images</td><td class=\"text\"><code>[^<]*study/images</code></td>"
                     r"<td>1</td>", html)  # and its one photo checksummed
    for argv in (["summary"], ["validate"], ["disagreement"], ["consistency"]):
        code = main([*argv, str(messy)])
        captured = capsys.readouterr()
        assert code in (0, 1), captured.err
        assert sum(line.startswith("note: skipped 8") for line in captured.err.splitlines()) == 1
    assert tree_hashes(messy) == before


def test_the_parent_of_study_folders_points_at_them():
    from conftest import SAMPLE

    with pytest.raises(StudyError, match=r"got none .*skipped: batch1 \(a study folder itself: "
                                         r"pass it as the study\); batch2 .*planted\.json \(JSON, "
                                         r"not an export\)"):
        discover(SAMPLE)
