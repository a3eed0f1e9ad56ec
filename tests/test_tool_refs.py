"""The tool's own references (CVAT task / job / frame, Label Studio task / annotation / user)
kept by the readers in ``ImageInfo.tool_ref``."""

import json
from pathlib import Path

import pytest

from agreement.errors import FormatError
from agreement.io.cvat import read_cvat_sources
from agreement.io.labelstudio import read_labelstudio_sources
from agreement.model import ImageInfo, ToolRef

FIX = Path(__file__).parent / "data" / "fixtures"


def refs(source):
    return {i.file_name: i.tool_ref for i in source.images}


def test_cvat_job_export_names_its_job_and_frames():
    (src,) = read_cvat_sources(
        FIX / "cross_tool_cats_MaxKuklaVod" / "cvat_job_export" / "annotations.xml").values()
    got = refs(src)
    assert got["pexels-arina-krasnikova-7726103.jpg"] == ToolRef(
        "cvat", image="pexels-arina-krasnikova-7726103.jpg", job_id=1, frame=0)
    assert sorted(r.frame for r in got.values()) == list(range(14))
    assert {r.job_id for r in got.values()} == {1}
    assert {r.task_id for r in got.values()} == {None}  # a job export does not name its task


def test_cvat_task_export_with_an_old_segment_url_has_no_job():
    (src,) = read_cvat_sources(
        FIX / "cvat" / "cvat_docs_example" / "annotations_image_mode_example.xml").values()
    assert refs(src) == {"filename000.jpg": ToolRef("cvat", image="filename000.jpg", task_id=4,
                                                    frame=0)}


def test_cvat_project_export_keeps_the_name_before_the_subset_prefix():
    (src,) = read_cvat_sources(FIX / "cvat" / "datumaro_export_project" / "annotations.xml",
                               split="none").values()
    got = refs(src)
    assert got["Test:img0.jpg"] == ToolRef("cvat", image="img0.jpg", task_id=39, job_id=6,
                                           frame=0)
    assert got["Test:img1.jpg"].job_id is None  # frame 1 is outside task 39's one segment


def _task_meta(tid, subset, size, segments, start=0, step=None):
    segs = "".join(f"<segment><id>{900 + job}</id><start>{a}</start><stop>{b}</stop>"
                   f"<url>http://cvat.local/api/jobs/{job}</url></segment>"
                   for a, b, job in segments)
    flt = f"step={step}" if step else ""
    return (f"<id>{tid}</id><name>t{tid}</name><size>{size}</size><mode>annotation</mode>"
            f"<subset>{subset}</subset><start_frame>{start}</start_frame>"
            f"<frame_filter>{flt}</frame_filter><segments>{segs}</segments>")


def _image(frame, name, extra=""):
    return (f'<image id="{frame}" name="{name}"{extra} width="4" height="3">'
            '<mask label="car" source="manual" occluded="0" rle="0, 12" left="0" top="0" '
            'width="4" height="3" z_order="0"></mask></image>')


def _doc(meta, images):
    return ('<?xml version="1.0" encoding="utf-8"?><annotations><version>1.1</version><meta>'
            f"{meta}</meta>{''.join(images)}</annotations>")


def test_cvat_task_export_finds_the_job_of_each_frame(tmp_path):
    labels = "<labels><label><name>car</name></label></labels>"
    meta = f"<task>{_task_meta(5, 'default', 10, [(0, 4, 11), (5, 9, 12)])}{labels}</task>"
    path = tmp_path / "task.xml"
    path.write_text(_doc(meta, [_image(3, "a.jpg"), _image(5, "b.jpg"), _image(9, "c.jpg")]))
    (src,) = read_cvat_sources(path).values()
    assert {n: (r.task_id, r.job_id, r.frame) for n, r in refs(src).items()} == {
        "a.jpg": (5, 11, 3), "b.jpg": (5, 12, 5), "c.jpg": (5, 12, 9)}


def test_cvat_task_export_with_a_frame_step_maps_frames_to_segments(tmp_path):
    labels = "<labels><label><name>car</name></label></labels>"
    meta = f"<task>{_task_meta(5, 'default', 4, [(0, 1, 21), (2, 3, 22)], start=10, step=2)}"
    path = tmp_path / "task.xml"
    path.write_text(_doc(meta + labels + "</task>", [_image(12, "a.jpg"), _image(14, "b.jpg")]))
    (src,) = read_cvat_sources(path).values()
    assert {n: (r.job_id, r.frame) for n, r in refs(src).items()} == {
        "a.jpg": (21, 12), "b.jpg": (22, 14)}  # relative frames 1 and 2


def test_cvat_project_export_subtracts_the_task_offset_within_a_subset(tmp_path):
    # CVAT numbers a project's frames across the tasks of a subset: task 8 (3 frames) comes
    # first, so task 9's frame 1 is written as image id 4.
    tasks = ("<tasks>"
             f"<task>{_task_meta(8, 'train', 3, [(0, 2, 31)])}</task>"
             f"<task>{_task_meta(9, 'train', 2, [(0, 1, 41)])}</task>"
             f"<task>{_task_meta(10, 'val', 2, [(0, 1, 51)])}</task>"
             "</tasks>")
    meta = f"<project><id>1</id>{tasks}<labels><label><name>car</name></label></labels></project>"
    images = [_image(2, "a.jpg", ' subset="train" task_id="8"'),
              _image(4, "b.jpg", ' subset="train" task_id="9"'),
              _image(1, "c.jpg", ' subset="val" task_id="10"')]
    path = tmp_path / "project.xml"
    path.write_text(_doc(meta, images))
    (src,) = read_cvat_sources(path, split="none").values()
    assert {n: (r.task_id, r.job_id, r.frame) for n, r in refs(src).items()} == {
        "a.jpg": (8, 31, 2), "b.jpg": (9, 41, 1), "c.jpg": (10, 51, 1)}


def test_cvat_tool_ref_reaches_the_painted_annotation(tmp_path):
    labels = "<labels><label><name>car</name></label></labels>"
    meta = f"<task>{_task_meta(5, 'default', 10, [(0, 9, 11)])}{labels}</task>"
    path = tmp_path / "task.xml"
    path.write_text(_doc(meta, [_image(3, "a.jpg")]))
    (src,) = read_cvat_sources(path).values()
    assert src.load("a.jpg").image.tool_ref == ToolRef("cvat", image="a.jpg", task_id=5,
                                                       job_id=11, frame=3)


def test_labelstudio_refs_name_task_annotation_and_user():
    sources = read_labelstudio_sources(
        FIX / "label_studio" / "sdk_tests" / "test_export_yolo" / "data.json")
    assert refs(sources["user-2"])["image1"] == ToolRef(
        "labelstudio", image="/image1", task_id=1, annotation_id=1, completed_by=2)
    assert refs(sources["user-1"])["image1"] == ToolRef(
        "labelstudio", image="/image1", task_id=1, annotation_id=2, completed_by=1)


def test_labelstudio_completed_by_as_a_dict_gives_its_id():
    (src,) = read_labelstudio_sources(
        FIX / "label_studio" / "sdk_tests" / "test_export_csv" / "csv_test.json").values()
    ref = refs(src)["0030019819f25b28.jpg"]
    assert (ref.task_id, ref.annotation_id, ref.completed_by) == (1, 7, 1)
    assert ref.image == "https://data.heartex.net/open-images/train_0/mini/0030019819f25b28.jpg"


def test_labelstudio_ids_that_are_not_integers_are_refused(tmp_path):
    # Label Studio ids are integers; another type is not coerced nor dropped: the export is
    # refused naming the field (no coercion, issue 17)
    task = {"id": "t-1", "data": {"image": "/data/upload/3/0a1b2c3d-x.jpg"}, "annotations": [
        {"id": True, "completed_by": {"email": "a@b.c"}, "result": [
            {"id": "r", "type": "polygonlabels", "original_width": 4, "original_height": 4,
             "value": {"points": [[0, 0], [100, 0], [100, 100]], "polygonlabels": ["car"]}}]}]}
    path = tmp_path / "ls.json"
    path.write_text(json.dumps([task]))
    with pytest.raises(FormatError, match="task 0 'id' must be an integer, got 't-1'"):
        read_labelstudio_sources(path)


def test_tool_ref_is_not_part_of_image_equality():
    a = ImageInfo("x.png", 2, 3, 1, ToolRef("cvat", job_id=1))
    b = ImageInfo("x.png", 2, 3, 1, ToolRef("labelstudio", task_id=9))
    assert a == b and hash(a) == hash(b)
    assert ImageInfo("x.png", 2, 3).tool_ref is None
