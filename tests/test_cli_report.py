"""`agreement report` on a tiny hand-made study: outputs, --json, --quiet, exit codes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from report_html import parse_report

from agreement import Categories, Category, PanopticAnnotation, write_coco_panoptic
from agreement.cli import main

CATS = Categories(
    [Category(7, "road", False), Category(8, "sidewalk", False), Category(26, "car", True)]
)


def _map(border: int, car_dx: int = 0) -> PanopticAnnotation:
    ids = np.full((24, 32), 1, dtype=np.int32)  # road
    ids[:, border:] = 2  # sidewalk
    ids[4:10, 4 + car_dx : 12 + car_dx] = 3  # car
    return ids


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    for name, border, dx in (("ann_a", 20, 0), ("ann_b", 20, 1), ("ann_c", 26, 0)):
        anns = [
            PanopticAnnotation.from_map(
                _map(border + k % 3, dx), {1: 7, 2: 8, 3: 26}, file_name=f"img_{k}.png",
                image_id=k + 1
            )
            for k in range(10)
        ]
        write_coco_panoptic(anns, CATS, root / name / "panoptic.json")
    return root


def test_json_summary_and_files(study, tmp_path, capsys):
    out = tmp_path / "rep"
    code = main(["report", str(study), "--out", str(out), "--json", "--bootstrap", "50", "-j", "1"])
    captured = capsys.readouterr()
    assert code == 0 and captured.err == ""  # --json implies no progress bar
    assert "rest on few images" not in (out / "report.md").read_text("utf-8")  # 10 images
    summary = json.loads(captured.out)
    assert summary["annotators"] == ["ann_a", "ann_b", "ann_c"] and summary["images"] == 10
    assert summary["report_html"] == str(out / "report.html")
    assert set(summary["overall"]) == {"All", "Things", "Stuff"}
    # ann_c draws the road / sidewalk border 6 px into the sidewalk on every image (wider than
    # the border band of these 24 x 32 images: most of it is sidewalk labelled road)
    assert summary["problems"][0]["classes"] == ["sidewalk", "road"]
    assert summary["problems"][0]["annotators"] == ["ann_c"]
    assert {"report.html", "report.md", "classes.csv", "overall.csv", "findings.json"} <= {
        p.name for p in out.iterdir()
    }
    # --json, the proposals and findings.json read the same findings
    doc = json.loads((out / "findings.json").read_text("utf-8"))
    assert summary["findings"] == doc["findings"]
    first = doc["findings"][0]
    assert (first["kind"], first["categories"], first["annotators"]) == (
        "class_confusion", ["sidewalk", "road"], ["ann_c"])
    assert 0.4 < first["effect"] < 0.5 and first["rank"] == 1
    second = doc["findings"][1]
    assert (second["kind"], second["categories"], second["annotators"]) == (
        "boundary_offset", ["road", "sidewalk"], ["ann_c"])
    assert second["effect"] > 0 and second["unit"] == "px"
    assert {"rank", "kind", "categories", "annotators", "effect", "unit", "ci_low", "ci_high",
            "images", "text", "evidence"} <= set(first)
    assert doc["parameters"]["alpha"] == 0.01
    parsed = parse_report((out / "report.html").read_text("utf-8"))
    assert all(src.startswith("data:image/png;base64,") for src in parsed.images)
    assert "table-classes" in parsed.tables


def test_text_mode_prints_the_path(study, tmp_path, capsys):
    out = tmp_path / "rep"
    assert main(["report", str(study), "--out", str(out), "--quiet", "--bootstrap", "0"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == str(out / "report.html") and captured.err == ""


def test_bad_inputs_exit_2(study, tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope"), "--out", str(tmp_path / "r")]) == 2
    assert "study path must be a folder" in capsys.readouterr().err
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep")
    assert main(["report", str(study), "--out", str(foreign), "-q", "--bootstrap", "0"]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith(
            "agreement report: error: output folder must be empty or hold a previous report"
        )
        and "Traceback" not in err
    )
    assert (foreign / "notes.txt").read_text() == "keep"


def test_help_lists_report(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["report", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "--n-jobs" in text and "--json" in text and "--quiet" in text


def test_json_to_a_file_and_summary_json(study, tmp_path, capsys):
    out, js = tmp_path / "rep", tmp_path / "summary.json"
    assert (
        main(["report", str(study), "--out", str(out), "--json", str(js), "-q", "--bootstrap", "0"])
        == 0
    )
    assert capsys.readouterr().out.strip() == str(out / "report.html")
    assert json.loads(js.read_text())["problems"][0]["classes"] == ["sidewalk", "road"]
    assert main(["summary", str(study), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["annotators"] == ["ann_a", "ann_b", "ann_c"] and doc["missing"] == []


def test_study_file_with_photos(study, tmp_path, capsys):
    from PIL import Image

    (study / "photos").mkdir(exist_ok=True)
    for k in range(3):
        Image.new("RGB", (32, 24), (90, 90, 90)).save(study / "photos" / f"img_{k}.jpg")
    (study / "s.toml").write_text(
        'name = "tiny"\nimages_dir = "photos"\nimages = ["img_0.png", "img_1.png"]\n'
        '[annotators]\nA = "ann_a/panoptic.json"\nB = "ann_b/panoptic.json"\n'
        'C = "ann_c/panoptic.json"\n'
    )
    out = tmp_path / "rep"
    assert (
        main(["report", str(study / "s.toml"), "--out", str(out), "--json", "--bootstrap", "0"])
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["study"] == "tiny" and summary["annotators"] == ["A", "B", "C"]
    assert summary["images"] == 2
    html = (out / "report.html").read_text("utf-8")
    assert "photos" in parse_report(html).body  # the photos folder is checksummed
    assert "study file" in parse_report(html).body
    # two images: the report says its intervals and tests are rough (ten: it does not)
    assert "With 2 images, the intervals and the findings' tests rest on few images" in (
        out / "report.md").read_text("utf-8")
    assert "With 2 images, the intervals" in parse_report(html).body


def test_one_annotator_is_refused(study, tmp_path, capsys):
    import shutil

    one = tmp_path / "one"
    shutil.copytree(study / "ann_a", one / "ann_a")
    assert main(["report", str(one), "--out", str(tmp_path / "r"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "study has nothing to compare: it must have two or more annotators, got 1" in err
    assert not (tmp_path / "r").exists()
