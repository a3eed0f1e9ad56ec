"""Every real export fixture goes through ``agreement report`` or a clear, early refusal.

Each fixture is tried twice: as the study itself (one file; only the Label Studio export with two
annotators holds several), and copied as two annotators ``a/`` and ``b/`` of a study folder (so
that every export holding segments is compared with itself). Exports without a segment (boxes
only: 3 of the Label Studio fixtures, the real CVAT job, a Datumaro COCO file; a CVAT task whose
only polygon has an empty label) have nothing to compare: they are refused in one line naming
why, before any map is decoded (the Label Studio ones used to crash with a pandas traceback).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from test_io_fixtures import FIX, LOADABLE

from agreement.cli import main

NOTHING = "study has nothing to compare"
#: Fixture -> how `agreement report` ends on a study of two copies of it.
TWO_COPIES = {
    "coco_panoptic/panopticapi/sample_data/panoptic_examples.json": "report",
    "coco_panoptic/panopticapi/sample_data/panoptic_coco_detection_format.json": "report",
    "coco_panoptic_and_instances/datumaro/coco_panoptic/annotations/panoptic_val.json": "report",
    "coco_panoptic_and_instances/datumaro/coco_instances/annotations/instances_train.json":
        f"{NOTHING}: no annotator has a segment on the 1 image(s) two of them share (a: 1 "
        "annotation(s) without a polygon or RLE (boxes) in 1 image(s))",
    "coco_panoptic_and_instances/datumaro/coco_instances/annotations/instances_val.json":
        "report",
    "cvat/cvat_docs_example/annotations_image_mode_example.xml": "report",
    "cvat/datumaro_export_project/annotations.xml": "report",
    "cvat/datumaro_export_task/train.xml":
        f"{NOTHING}: no annotator has a segment on the 2 image(s) two of them share (a: 1 <box> "
        "shape(s) have no area; skipped; 1 <points> shape(s) have no area; skipped; 1 <polyline> "
        "shape(s) have no area; skipped; 1 shape(s) with a label not in the category set left "
        "out)",
    "cross_tool_cats_MaxKuklaVod/cvat_job_export/annotations.xml":
        f"{NOTHING}: no annotator has a segment on the 14 image(s) two of them share (a: 24 "
        "<box> shape(s) have no area; skipped); boxes, key points and tags are not compared",
    "cross_tool_cats_MaxKuklaVod/label_studio_export/project-1-at-2025-06-19-14-54-b0c66fa7.json":
        f"{NOTHING}: the exports hold no category with an area (a: 24 'rectanglelabels' "
        "result(s) have no area; skipped)",
    "label_studio/sdk_tests/test_export_coco/data.json": "report",
    "label_studio/sdk_tests/test_export_yolo/data.json":
        f"{NOTHING}: the exports hold no category with an area",
    "label_studio/sdk_tests/test_export_yolo/data_polygons.json": "report",
    "label_studio/sdk_tests/test_export_json_min/data.json": "report",
    "label_studio/sdk_tests/test_export_csv/csv_test.json":
        f"{NOTHING}: the exports hold no category with an area",
    "label_studio/brush_ml_backend/test_brush_labels.json": "report",
}


def test_every_loadable_fixture_has_an_expected_outcome():
    assert set(TWO_COPIES) == set(LOADABLE)


def _two_copies(rel: str, root: Path) -> Path:
    src = FIX / rel
    for who in ("a", "b"):
        (root / who).mkdir(parents=True)
        shutil.copy(src, root / who / src.name)
        pngs = src.with_suffix("")
        if pngs.is_dir():  # a COCO panoptic export's PNG folder
            shutil.copytree(pngs, root / who / pngs.name)
    return root


def _report(study: Path, out: Path, capsys) -> tuple[int, str, float]:
    start = time.perf_counter()
    code = main(["report", str(study), "--out", str(out), "-q", "--bootstrap", "0",
                 "--no-boundary", "--max-examples", "1"])
    return code, capsys.readouterr().err, time.perf_counter() - start


@pytest.mark.parametrize("rel", sorted(TWO_COPIES))
def test_report_of_two_copies_or_one_clear_refusal(rel, tmp_path, capsys):
    study = _two_copies(rel, tmp_path / "study")
    code, err, _ = _report(study, tmp_path / "out", capsys)
    expected = TWO_COPIES[rel]
    if expected == "report":
        assert (code, err) == (0, "")
        assert (tmp_path / "out" / "report.html").is_file()
    else:
        assert code == 2 and not (tmp_path / "out").exists()
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"agreement report: error: {expected}")


@pytest.mark.parametrize("rel", sorted(TWO_COPIES))
def test_report_of_the_export_itself_is_refused_clearly(rel, tmp_path, capsys):
    code, err, _ = _report(FIX / rel, tmp_path / "out", capsys)
    assert code == 2 and not (tmp_path / "out").exists()
    lines = err.splitlines()
    n_annotators = LOADABLE[rel][1]
    reason = NOTHING if n_annotators > 1 else "a study file or export must name several annotators"
    assert len(lines) == 1 and lines[0].startswith(f"agreement report: error: {reason}")
