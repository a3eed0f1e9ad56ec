"""validate(): every finding kind, on a mixed study built to contain each; and the CLI."""

import dataclasses
import json

import numpy as np
import pytest
from _lsenc import encode_mask
from conftest import write_export
from hypothesis import given, settings
from hypothesis import strategies as st
from test_io_cvat import document, poly_xml

from agreement.cli import main
from agreement.findings import KINDS, Finding, findings_frame
from agreement.io.study_loader import load_study
from agreement.model import Categories, Category, ImageInfo, PanopticAnnotation, Study
from agreement.study.validation import validate

CATS = [{"id": 1, "name": "car", "isthing": 1}, {"id": 2, "name": "person", "isthing": 1},
        {"id": 3, "name": "road", "isthing": 0}]


def sq(x, y, w, h):
    return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]


def build(tmp_path):
    (tmp_path / "categories.json").write_text(json.dumps(CATS))
    a_shapes = [
        poly_xml(sq(0, 0, 20, 20), label="road"),
        poly_xml(sq(2, 2, 12, 6)),                       # one car over b's two cars
        poly_xml(sq(0, 12, 4, 4), label="person"),
        poly_xml(sq(2, 12, 4, 4), label="person"),       # overlaps the first person
        poly_xml(sq(18, 18, 3, 3), label="person"),      # tiny (4 px once clipped) + outside
        poly_xml([(10, 10), (16, 10), (10, 16), (12, 16)], label="person"),  # crossing outline
        poly_xml([(0.1, 0.1), (0.4, 0.1), (0.1, 0.4)]),  # rasterises to nothing
        poly_xml(sq(5, 12, 1, 1), label="bus"),          # unknown label
        poly_xml(sq(8, 8, 1, 1), label="person", z=-5),  # under the road? no: things over stuff
        '<box label="car" xtl="0" ytl="0" xbr="2" ybr="2"/>',
    ]
    hidden = [poly_xml(sq(0, 0, 2, 2)), poly_xml(sq(0, 0, 3, 3), z=1)]
    (tmp_path / "a.xml").write_text(document([("x.png", 20, 20, a_shapes, ""),
                                              ("y.png", 8, 8, hidden, "")],
                                             labels=("car", "person", "road")))
    b_shapes = [poly_xml(sq(2, 2, 5, 6)), poly_xml(sq(9, 2, 5, 6)),
                poly_xml(sq(0, 12, 20, 8), label="road")]
    (tmp_path / "b.xml").write_text(document([("x.png", 20, 20, b_shapes, ""),
                                              ("z.png", 10, 10, [], "")],
                                             labels=("car", "person", "road")))

    def res(rid, pts, w=12, h=10, **value):
        return {"id": rid, "type": "polygonlabels", "original_width": w, "original_height": h,
                "image_rotation": value.pop("rot", 0),
                "value": {"points": pts, "polygonlabels": ["car"], **value}}

    tri = [[0, 0], [50, 0], [50, 50]]
    ann = {"id": 1, "completed_by": 4, "result": [res("r1", tri, closed=False, rot=90)],
           "parent_annotation": 9, "updated_at": "2025-01-02"}
    dup = {"id": 2, "completed_by": 4, "result": [], "updated_at": "2025-01-01"}
    cancel = {"id": 3, "completed_by": 4, "result": [], "was_cancelled": True}
    (tmp_path / "c.json").write_text(json.dumps([
        {"id": 1, "data": {"image": "/data/upload/1/0123abcd-z.png"},
         "annotations": [ann, dup, cancel]}]))
    cut = encode_mask(np.ones((10, 12), bool))[:-1]  # a truncated brush: fails when decoded
    brush = {"id": "b", "type": "brushlabels", "original_width": 12, "original_height": 10,
             "value": {"format": "rle", "rle": cut, "brushlabels": ["car"]}}
    pred = [{"model_version": "m", "score": 1.0, "result": [res("p", tri), brush]}]
    (tmp_path / "e.json").write_text(json.dumps(pred))
    inst = {"images": [{"id": 1, "file_name": "x.png", "height": 20, "width": 20}],
            "categories": CATS,
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 1,
                             "segmentation": {"size": [20, 20], "counts": [0, 40, 360]},
                             "attributes": {"occluded": False}}]}
    (tmp_path / "d.json").write_text(json.dumps(inst))
    road = np.full((20, 20), 5, np.int32)
    road[:2] = 0  # 40 void pixels, listed in segments_info as id 0 (as DeepLab writes them)
    write_export(tmp_path, {"x.png": (road, [
        {"id": 5, "category_id": 3, "iscrowd": 0, "area": 360, "bbox": [0, 2, 20, 18]},
        {"id": 0, "category_id": 3, "iscrowd": 0, "area": 40}])}, categories=CATS, name="f")
    return load_study(tmp_path)


def test_every_kind_is_found(tmp_path):
    frame = validate(build(tmp_path))
    assert list(frame.columns) == ["kind", "severity", "annotator", "file", "image", "shape",
                                   "detail"]
    assert set(frame["kind"]) == set(KINDS)
    assert list(frame["severity"]) == sorted(frame["severity"], key=["error", "warning",
                                                                     "info"].index)

    def one(kind, **where):
        rows = frame[frame["kind"] == kind]
        for k, v in where.items():
            rows = rows[rows[k] == v]
        assert len(rows) >= 1, (kind, where)
        return rows.iloc[0]

    assert one("unknown_label", annotator="a").severity == "error"
    assert "covers 8 px of polygon #3 (person)" in one("overlap", annotator="a").detail
    crowd = one("crowd_candidate", annotator="a", image="x.png", severity="warning")
    assert "covers 2 instances of annotator 'b'" in crowd.detail
    assert "never uses ['person']" in one("label_set_differs", annotator="b").detail
    assert one("missing_image", annotator="b", image="y.png").detail.startswith("annotated by a")
    assert one("image_size_differs", image="z.png").detail == \
        "sizes (width x height) differ: b: 10x10, c: 12x10"
    assert one("tiny_segment", annotator="a", image="x.png")["shape"].startswith("segment")
    assert one("unlabeled", annotator="b", image="z.png").severity == "warning"
    assert one("hidden_shape", annotator="a", image="y.png")["shape"] == "polygon #1"
    bad = one("unreadable_image", annotator="e", image="task-0")
    assert bad["shape"] == "region b" and "(truncated)" in bad.detail
    assert one("void_segment", annotator="f", image="x.png").detail.startswith(
        "segments_info lists id 0 (category 'road', area 40)")


def test_crowd_candidate_from_separate_blobs():
    class One:
        name, annotator = "mem", "a"
        categories = Categories([Category(1, "car", True)])
        images = (ImageInfo("x.png", 4, 30),)

        def load(self, file_name):
            ids = np.zeros((4, 30), int)
            ids[:, :12] = 1
            ids[:, 18:] = 1
            return PanopticAnnotation.from_map(ids, {1: 1}, file_name="x.png")

    frame = validate(One())
    row = frame[frame["kind"] == "crowd_candidate"].iloc[0]
    assert row.severity == "info" and "made of 2 separate blobs" in row.detail
    assert frame[frame["kind"] == "unlabeled"].iloc[0].severity == "info"  # 20 %, under 50 %


@pytest.mark.parametrize("splitting", [1, 2, 3])
def test_crowd_candidates_go_to_whoever_is_outnumbered(splitting):
    """Two touching cars: ``splitting`` of four annotators draw two instances, the rest one
    segment. A lone splitter's split is his: nobody else is a crowd candidate. When the
    splitters are at least as many as the lumpers, each lumper's segment is one, naming every
    splitter (one finding per segment, not one per pair)."""
    cats = Categories([Category(1, "car", True)])
    two = np.zeros((4, 30), np.int32)
    two[:, :15], two[:, 15:] = 1, 2
    one = np.where(two > 0, 1, 0).astype(np.int32)
    names = ["a", "b", "c", "d"]
    anns = {n: PanopticAnnotation.from_map(two if k < splitting else one,
                                           {1: 1, 2: 1} if k < splitting else {1: 1},
                                           file_name="x.png") for k, n in enumerate(names)}
    frame = validate(Study.from_annotations({n: [a] for n, a in anns.items()}, cats))
    crowd = frame[(frame["kind"] == "crowd_candidate") & (frame["severity"] == "warning")]
    lumpers = names[splitting:]
    if splitting < len(lumpers):
        assert crowd.empty
    else:
        assert sorted(crowd.annotator) == lumpers
        detail = crowd.iloc[0].detail
        assert detail.startswith("car segment covers 2 instances of annotator 'a' "
                                 "(segments [1, 2])")
        assert all(f"annotator {n!r}" in detail for n in names[:splitting])
        assert detail.endswith(": one blob for several instances (crowd?)")


def test_findings_frame_and_kind_check():
    assert findings_frame([]).empty
    with pytest.raises(ValueError, match="finding kind must be one of"):
        Finding.of("nope")


def test_cli_exit_codes(tmp_path, capsys):
    build(tmp_path)
    assert main(["validate", str(tmp_path), "--csv", str(tmp_path / "out.csv")]) == 1
    out = capsys.readouterr().out
    assert "findings by kind:" in out and "unknown_label" in out and "error(s)" in out
    assert (tmp_path / "out.csv").is_file()
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "a.xml").write_text(document([("x.png", 4, 4, [poly_xml(sq(0, 0, 4, 4))], "")]))
    assert main(["validate", str(clean)]) == 0
    assert main(["validate", str(tmp_path / "nope")]) == 2
    assert "study path must be a folder" in capsys.readouterr().err


def test_cli_json_to_stdout_is_one_document_and_keeps_the_exit_status(tmp_path, capsys):
    import json

    build(tmp_path)
    assert main(["validate", str(tmp_path), "--json"]) == 1
    captured = capsys.readouterr()
    doc = json.loads(captured.out)  # nothing but the JSON document on stdout
    assert doc["errors"] >= 1 and doc["errors"] == sum(
        f["severity"] == "error" for f in doc["findings"])
    assert "unknown_label" in {f["kind"] for f in doc["findings"]}
    assert captured.err == ""
    out = tmp_path / "findings.json"
    assert main(["validate", str(tmp_path), "--json", str(out), "-q"]) == 1
    assert json.loads(out.read_text())["findings"] == doc["findings"]


def test_missing_image_names_a_case_only_difference():
    cats = Categories([Category(1, "road", False)])

    def ann(name):
        return PanopticAnnotation.from_map([[1, 1]], {1: 1}, file_name=name)

    study = Study.from_annotations({"a": [ann("B.jpg"), ann("c.jpg")],
                                    "b": [ann("b.jpg"), ann("c.jpg")]}, cats)
    found = validate(study)
    miss = found[found.kind == "missing_image"].set_index(["annotator", "image"]).detail
    assert miss[("a", "b.jpg")] == (
        "annotated by b only; it has 'B.jpg', a name differing only in case (names are "
        "case-sensitive: pass rename= to map them)")
    assert miss[("b", "B.jpg")].endswith("it has 'b.jpg', a name differing only in case (names "
                                        "are case-sensitive: pass rename= to map them)")


def test_one_annotators_export_is_validated_and_summarised_alone(capsys):
    # validate and summary look at each annotator alone: one export file is enough for them,
    # named after its file; the commands that compare annotators still refuse it
    export = "data/sample/batch1/bruno/panoptic.json"
    assert main(["validate", export, "--json", "-q"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["annotators"] == ["panoptic"] and doc["images"] == 13
    assert main(["summary", export]) == 0
    assert "annotator   panoptic.json" in capsys.readouterr().out
    assert main(["disagreement", export, "-q"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "must name several annotators" in err[0]


_opt = st.none() | st.text(max_size=4)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(sorted(KINDS)), _opt, _opt, _opt, _opt,
                               st.text(max_size=4)), max_size=6))
def test_the_findings_frame_is_built_column_by_column_as_from_rows(rows):
    """findings_frame builds its columns straight from the records (no dict per finding): the
    same frame, dtypes included, as the rows of ``asdict``."""
    import pandas as pd

    from agreement.findings import FINDING_COLUMNS, sort_findings

    found = [Finding.of(k, d, annotator=a, file=f, image=i, shape=s) for k, a, f, i, s, d in rows]
    old = pd.DataFrame([dataclasses.asdict(f) for f in sort_findings(found)],
                       columns=list(FINDING_COLUMNS))
    pd.testing.assert_frame_equal(findings_frame(found), old)
