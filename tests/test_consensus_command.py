"""``agreement consensus`` / :func:`agreement.export_consensus`: the consensus of a study in one
pass, in each format: read back by our readers it equals the consensus computed image by image,
pixel for pixel; ``agreement validate`` accepts it; the files are the same on every executor; the
tool's references (CVAT names and frames, Label Studio task images) reach the export."""

from __future__ import annotations

import concurrent.futures as cf
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _toolstudies import cvat_study, labelstudio_study
from PIL import Image

import agreement
from agreement import consensus
from agreement.cli import main
from agreement.image.voting import vote_layer
from agreement.io import load_study
from agreement.io.consensus_export import CONSENSUS_FORMATS
from agreement.study import runner

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample" / "batch1"
FORMATS = sorted(CONSENSUS_FORMATS)


@pytest.fixture(scope="module")
def study():
    return load_study(SAMPLE)


@pytest.fixture(scope="module")
def expected(study):
    """The consensus and votes of the first 5 images, made image by image (no pass)."""
    out = {}
    for image, anns in study.iter_images(study.images[:5]):
        cons = consensus(anns, study.categories, image=image)
        out[image] = (cons, vote_layer(anns, cons.annotation, study.categories))
    return out


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_same_map(a, b, *, exact_ids: bool) -> None:
    """Equal pixel for pixel: the same void, one segment for one, the same categories (and the
    same ids when the format keeps them)."""
    assert a.shape == b.shape
    if exact_ids:
        np.testing.assert_array_equal(a.ids, b.ids)
        assert [(s.id, s.category_id, s.area) for s in a.segments] == [
            (s.id, s.category_id, s.area) for s in b.segments]
        return
    np.testing.assert_array_equal(a.ids == 0, b.ids == 0)
    keep = a.ids.ravel() > 0
    pairs = np.unique(np.stack([a.ids.ravel()[keep], b.ids.ravel()[keep]], 1), axis=0)
    assert len(set(pairs[:, 0].tolist())) == len(pairs) == len(set(pairs[:, 1].tolist()))
    assert len(pairs) == len(a.segments) == len(b.segments)
    for x, y in pairs.tolist():
        assert a.segment(x).category_id == b.segment(y).category_id


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_reads_back_to_the_consensus_and_validates(tmp_path, study, expected, fmt,
                                                               capsys):
    out = tmp_path / "cons"
    res = agreement.export_consensus(study, out, format=fmt, images=list(expected))
    assert res.export == out / CONSENSUS_FORMATS[fmt][0]
    back = load_study(out)
    assert back.annotators == ("consensus",) and back.images == tuple(expected)
    assert back.categories == study.categories
    counts = res.counts.set_index("image")
    for image, (cons, layer) in expected.items():
        assert_same_map(cons.annotation, back.annotation("consensus", image),
                        exact_ids=fmt == "coco-panoptic")
        votes = np.asarray(Image.open(out / "votes" / f"{Path(image).stem}.png"))
        np.testing.assert_array_equal(votes, layer.to_rgb())
        row = counts.loc[image]
        assert (row.tie_pixels, row.weak_pixels) == (cons.tie_pixels, cons.weak_pixels)
        assert row.no_majority_pixels == cons.tie_pixels + cons.weak_pixels
        assert row.annotators == len(study.annotators)
        assert row.segments == len(cons.annotation.segments)
    on_disk = pd.read_csv(out / "consensus_counts.csv")
    assert on_disk.columns.tolist() == ["image", "segments", "void_pixels", "no_majority_pixels",
                                        "mean_agreement", "annotators", "tie_pixels",
                                        "weak_pixels"]
    method = json.loads((out / "method.json").read_text())["method"]
    assert (method["min_share"], method["void"]) == (0.5, "label")
    assert method["annotators"] == list(study.annotators)
    assert "tie" in method["description"] and "min_share" in method["description"]
    capsys.readouterr()
    assert main(["validate", str(out), "-q"]) == 0
    assert "0 error(s), 0 warning(s)" in capsys.readouterr().out


def test_min_share_and_void_reach_the_consensus(tmp_path, study, expected):
    image = next(iter(expected))
    anns = study.annotations(image)
    res = agreement.export_consensus(study, tmp_path / "o", images=[image], min_share=0.0,
                                     void="exclude")
    want = consensus(anns, study.categories, min_share=0.0, void="exclude", image=image)
    back = load_study(tmp_path / "o").annotation("consensus", image)
    np.testing.assert_array_equal(back.ids, want.annotation.ids)
    assert res.counts.weak_pixels.tolist() == [0]  # any untied plurality wins
    layer = vote_layer(anns, want.annotation, study.categories, void="exclude")
    votes = np.asarray(Image.open(tmp_path / "o" / "votes" / f"{Path(image).stem}.png"))
    np.testing.assert_array_equal(votes, layer.to_rgb())


@pytest.fixture
def small_chunks():
    before = runner.CHUNK_SIZE
    runner.CHUNK_SIZE = 2  # 7 images: 4 chunks
    yield
    runner.CHUNK_SIZE = before


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_files_are_the_same_on_every_executor(tmp_path, study, fmt, small_chunks,
                                                  dask_client):
    images = list(study.images[:7])
    written = {}
    runs = {"serial": {}, "pool": {"n_jobs": 2}, "threads": "threads", "dask":
            {"executor": dask_client}}
    for how, kwargs in runs.items():
        if kwargs == "threads":
            with cf.ThreadPoolExecutor(2) as pool:
                agreement.export_consensus(study, tmp_path / how, format=fmt, images=images,
                                           executor=pool)
        else:
            agreement.export_consensus(study, tmp_path / how, format=fmt, images=images,
                                       **kwargs)
        written[how] = files(tmp_path / how)
    assert len(written["serial"]) > 10
    for how in runs:
        assert written[how] == written["serial"], how


def test_cvat_export_names_the_task_s_images_and_frames(tmp_path):
    study = load_study(cvat_study(tmp_path / "study"))
    res = agreement.export_consensus(study, tmp_path / "out", format="cvat")
    xml = res.export.read_text()
    frames = dict((name, int(frame)) for frame, name in
                  re.findall(r'<image id="(\d+)" name="([^"]+)"', xml))
    refs = {i.file_name: i.tool_ref for i in study.source("a").images}
    assert frames == {name: ref.frame for name, ref in refs.items()}
    assert sorted(frames.values()) == list(range(14))
    back = load_study(tmp_path / "out")
    assert {i.file_name: i.tool_ref.frame for i in back.source("consensus").images} == frames


def test_label_studio_export_points_at_the_uploaded_images(tmp_path):
    study = load_study(labelstudio_study(tmp_path / "study"))
    assert study.annotators == ("user-1", "user-2", "user-3")
    res = agreement.export_consensus(study, tmp_path / "out", format="label-studio")
    tasks = json.loads(res.export.read_text())
    uploaded = {i.file_name: i.tool_ref.image for i in study.source("user-1").images}
    assert {t["data"]["image"] for t in tasks} == set(uploaded.values())
    assert all(v.startswith("/data/upload/1/") for v in uploaded.values())
    back = load_study(tmp_path / "out")  # the upload prefix is stripped again: same names
    assert back.images == study.images
    for image in study.images[:3]:
        cons = consensus(study.annotations(image), study.categories, image=image).annotation
        assert_same_map(cons, back.annotation("consensus", image), exact_ids=False)


def test_a_mixed_study_keeps_the_references_of_the_output_s_tool(tmp_path):
    """CVAT annotator first, Label Studio ones after: the Label Studio export takes the Label
    Studio references, the CVAT export the CVAT ones."""
    cvat_study(tmp_path / "c")
    labelstudio_study(tmp_path / "l")
    spec = {"annotators": {"cv": {"path": "c/a.xml"}}, "exports": [{"path": "l/project.json"}]}
    (tmp_path / "study.json").write_text(json.dumps(spec))
    study = load_study(tmp_path / "study.json")
    assert study.annotators[0] == "cv" and len(study.annotators) == 4
    image = study.images[0]
    res = agreement.export_consensus(study, tmp_path / "ls", format="label-studio",
                                     images=[image])
    (task,) = json.loads(res.export.read_text())
    assert task["data"]["image"].startswith("/data/upload/1/")
    res = agreement.export_consensus(study, tmp_path / "cvat", format="cvat", images=[image])
    frame = study.source("cv").images[0].tool_ref.frame
    assert f'<image id="{frame}" name="{image}"' in res.export.read_text()


def test_cli_writes_prints_the_export_and_a_json_summary(tmp_path, capsys):
    study = cvat_study(tmp_path / "study")
    out = tmp_path / "out"
    assert main(["consensus", str(study), "--out", str(out), "--format", "cvat", "-j", "2"]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"{out / 'annotations.xml'}\n"
    assert "consensus of 14 images written in" in captured.err
    assert "pixels left void for lack of a majority" in captured.err
    assert main(["consensus", str(study), "--out", str(out), "--format", "label-studio",
                 "--json", "--min-share", "0"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert captured.err == ""
    assert (doc["images"], doc["format"], doc["min_share"]) == (14, "label-studio", 0.0)
    assert doc["export"] == str(out / "tasks.json") and doc["weak_pixels"] == 0
    assert doc["annotators"] == ["a", "b", "c"]
    counts = pd.read_csv(out / "consensus_counts.csv")
    assert doc["no_majority_pixels"] == int(counts.no_majority_pixels.sum())
    assert sorted(p.name for p in out.iterdir())[:3] == [".agreement-consensus", "README.md",
                                                        "categories.json"]


def test_cli_label_studio_options(tmp_path, capsys):
    study = cvat_study(tmp_path / "study")
    out = tmp_path / "out"
    assert main(["consensus", str(study), "--out", str(out), "--format", "label-studio", "-q",
                 "--image-url", "/data/local-files/?d=photos/", "--as-predictions"]) == 0
    tasks = json.loads((out / "tasks.json").read_text())
    assert tasks[0]["data"]["image"].startswith("/data/local-files/?d=photos/pexels-")
    assert tasks[0]["annotations"] == [] and len(tasks[0]["predictions"]) == 1


@pytest.mark.parametrize("argv, message", [
    (["--format", "cvat", "--image-url", "x/"],
     "--image-url must go with --format label-studio, got --format cvat"),
    (["--min-share", "1"], "--min-share: must be a share in [0, 1)"),
    (["--format", "yolo"], "invalid choice: 'yolo'"),
])
def test_cli_bad_options_are_one_line_and_exit_2(tmp_path, capsys, argv, message):
    study = cvat_study(tmp_path / "study")
    try:
        code = main(["consensus", str(study), "--out", str(tmp_path / "out"), *argv])
    except SystemExit as exc:  # argparse's own refusals
        code = exc.code
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_cli_refuses_a_foreign_folder_before_reading_anything(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["consensus", str(tmp_path / "no such study"), "--out", str(out)]) == 2
    assert "output folder must be empty or hold a previous consensus export" in \
        capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_a_map_failing_mid_pass_leaves_the_previous_export_and_no_leftover(tmp_path, capsys):
    import shutil

    study = tmp_path / "study"
    shutil.copytree(SAMPLE, study)
    out = tmp_path / "out"
    assert main(["consensus", str(study), "--out", str(out), "-q"]) == 0
    before = files(out)
    broken = sorted((study / "chen" / "png").iterdir())[10]  # in the second chunk
    broken.write_bytes(b"not a png")
    assert main(["consensus", str(study), "--out", str(out), "-q", "--format", "cvat"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and broken.name in err
    assert files(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "study"]


def test_images_are_written_as_chunks_arrive_and_not_kept(tmp_path, study, small_chunks,
                                                         monkeypatch):
    """Chunks of 2 images: the first vote PNG is written before the third image is made, and
    no more than a chunk's consensus maps (plus the one written last) are alive at once."""
    import gc
    import weakref

    from agreement.io import consensus_export
    from agreement.study.consensus_maps import ConsensusPart

    alive: weakref.WeakSet = weakref.WeakSet()
    events: list[str] = []
    kernel, write_png = ConsensusPart.kernel, consensus_export.write_png_rgb

    def counting_kernel(self, maps):
        out = kernel(self, maps)
        alive.update(c.annotation for c in out)
        events.append("made")
        return out

    def counting_write(path, rgb):
        gc.collect()
        events.append(f"written with {len(alive)} alive")
        return write_png(path, rgb)

    monkeypatch.setattr(ConsensusPart, "kernel", counting_kernel)
    monkeypatch.setattr(consensus_export, "write_png_rgb", counting_write)
    agreement.export_consensus(study, tmp_path / "o", images=list(study.images[:7]),
                               format="label-studio")
    assert events.index("made", 2) > events.index(next(e for e in events if e != "made"))
    # the chunk in hand, plus the previous image still held by the writer's loop variable
    assert max(int(e.split()[2]) for e in events if e != "made") <= 2 + 1
    assert events.count("made") == 7


def test_the_part_run_alone_keeps_only_the_counts(study, expected):
    from agreement.study.consensus_maps import ConsensusPart
    from agreement.study.runner import run

    (rows,) = run(study, [ConsensusPart()], images=list(expected))
    assert rows.columns.tolist() == ["image", "annotators", "tie_pixels", "weak_pixels"]
    assert rows.to_dict("records") == [
        {"image": i, "annotators": 4, "tie_pixels": c.tie_pixels, "weak_pixels": c.weak_pixels}
        for i, (c, _) in expected.items()]


def test_an_annotator_name_that_is_not_utf8_is_written_escaped(tmp_path, capsys):
    # a folder named with Latin-1 bytes (b"ali\xe9"): its name reaches method.json and README.md
    import os

    from conftest import TINY, TINY_TABLE, write_export

    study = tmp_path / "study"
    name = os.fsdecode(b"ali\xe9")
    for who in (name, "bruno"):
        write_export(study / who, {"x.jpg": (TINY, [dict(s) for s in TINY_TABLE])})
    out = tmp_path / "out"
    assert main(["consensus", str(study), "--out", str(out), "-q"]) == 0
    assert "- annotators: ali\\xe9, bruno" in (out / "README.md").read_text(encoding="utf-8")
    method = json.loads((out / "method.json").read_text(encoding="utf-8"))
    assert method["method"]["annotators"] == [name, "bruno"]
    assert main(["validate", str(out), "-q"]) == 0
