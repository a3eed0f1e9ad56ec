"""The review queue: regions ranked by severity (doubled when a finding explains them), the
annotators concerned, and the tools' own ids of their annotations (CVAT job / frame, Label
Studio task / annotation) from the real CVAT and Label Studio exports of the fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _toolstudies import cvat_study, labelstudio_study
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agreement import disagreement
from agreement.cli import main
from agreement.diagnosis import Finding
from agreement.errors import StudyError
from agreement.io import load_study
from agreement.study.review import REVIEW_COLUMNS, review_queue


@pytest.fixture(scope="module")
def cvat(tmp_path_factory):
    return load_study(cvat_study(tmp_path_factory.mktemp("cvat")))


@pytest.fixture(scope="module")
def ls_dir(tmp_path_factory):
    return labelstudio_study(tmp_path_factory.mktemp("ls"))


@pytest.fixture(scope="module")
def ls(ls_dir):
    return load_study(ls_dir)


@pytest.fixture(scope="module")
def ls_regions(ls):
    return disagreement(ls, maps=False).regions


def finding(kind="class_confusion", categories=("Cat", "Cats"), ids=(1, 2), annotators=(),
            images=(), evidence=None, rank=1, impact=100.0) -> Finding:
    return Finding(kind, tuple(categories), tuple(ids), tuple(annotators), 0.3, "share of pixels",
                   0.2, 0.4, tuple(images), 14, impact, 5.0, 0.001, 0.001, "test",
                   evidence or {}, rank)


def test_cvat_rows_name_each_concerned_annotator_s_job_and_the_frame(cvat):
    queue = review_queue(cvat, top=50)
    assert queue.columns.tolist() == REVIEW_COLUMNS and len(queue)
    frames = {i.file_name: i.tool_ref.frame for i in cvat.source("a").images}
    jobs = {a: cvat.source(a).images[0].tool_ref.job_id for a in cvat.annotators}
    assert jobs == {"a": 1, "b": 2, "c": 3}  # the fixture's job 1, and jobs 2 and 3
    for row in queue.itertuples():
        who = row.annotators.split(", ")
        assert row.tool == "cvat" and row.tool_image == row.image
        assert row.frame == str(frames[row.image])
        assert row.jobs == "; ".join(f"{a}={jobs[a]}" for a in who)
        assert row.task == ""  # a job export does not name its task
    confusion = queue[queue.kind == "class confusion"]
    assert len(confusion) and set(confusion.annotators) == {"c"}  # c calls a cat "Cats"
    first = confusion.iloc[0]
    assert first.why.startswith("c gives Cats where a, b give Cat (class confusion, ")
    assert (first.bbox_w, first.bbox_h) > (0, 0)


def test_label_studio_rows_name_the_task_and_each_annotator_s_own_annotation(ls, ls_regions):
    queue = review_queue(ls, ls_regions, top=50)
    task_of = {i.file_name: i.tool_ref.task_id for i in ls.source("user-1").images}
    own = {(a, i.file_name): i.tool_ref.annotation_id
           for a in ls.annotators for i in ls.source(a).images}
    assert own[("user-1", "pexels-fox-58267-762986.jpg")] == 1  # the fixture's own id
    assert own[("user-3", "pexels-fox-58267-762986.jpg")] == 201
    for row in queue.itertuples():
        assert row.tool == "labelstudio" and row.task == str(task_of[row.image])
        assert row.tool_image.startswith("/data/upload/1/")
        assert row.annotations == "; ".join(f"{a}={own[(a, row.image)]}"
                                            for a in row.annotators.split(", "))
    assert "user-3=201" in set(queue.annotations)


def test_with_two_annotators_nobody_is_the_minority(ls):
    pair = ls.subset(["user-1", "user-3"])
    queue = review_queue(pair, top=5)
    row = queue.iloc[0]
    assert set(row.annotators.split(", ")) == {"user-1", "user-3"}
    anns = dict(x.split("=") for x in row.annotations.split("; "))
    task = int(row.task)
    assert anns == {"user-1": str(task), "user-3": str(200 + task)}
    assert row.why in (f"user-3 gives Cats where user-1 gives Cat (class confusion, {row.area} px)",
                       f"user-1 gives Cat where user-3 gives Cats (class confusion, {row.area} px)")


def test_a_region_without_a_minority_side_names_everyone(ls, ls_regions):
    # both annotators drew the same crowd blob: peer matching never matches crowd segments, so
    # the region is disputed on its instances with nobody on a side of their own
    r = ls_regions.head(1).copy()
    r["kind"], r["class_b"], r["category_b"] = "merge-split", r["class_a"], r["category_a"]
    r["annotators_a"] = [("user-1", "user-3")]
    r["annotators_b"] = [()]
    row = review_queue(ls, r, top=5).iloc[0]
    assert row.annotators == "user-1, user-3"
    assert row.why == (f"user-1, user-3 disagree on the {r.class_a.iloc[0]} instances "
                       f"(merge-split, {row.area} px disputed)")


def test_a_finding_doubles_the_priority_of_the_regions_it_explains(ls, ls_regions):
    plain = review_queue(ls, ls_regions, top=100)
    third = plain.set_index("region").loc[3]
    # user-3's confusion, found on the image of the third region only: it overtakes the first
    found = [finding(annotators=("user-3",), images=(third.image,), rank=4)]
    ranked = review_queue(ls, ls_regions, found, top=100)
    first = ranked.iloc[0]
    assert (first.region, first.priority) == (3, 2 * third.severity)
    assert first.finding == "finding 4 (class_confusion Cat/Cats: user-3)"
    assert first.why == f"{third.why}; explained by finding 4 (class_confusion Cat/Cats: user-3)"
    rest = ranked.iloc[1:]
    assert (rest.finding == "").all() and (rest.priority == rest.severity).all()
    assert rest.region.tolist() == [r for r in plain.region if r != 3]
    assert ranked.priority.is_monotonic_decreasing


def test_a_finding_about_one_class_explains_its_gaps(ls, ls_regions):
    """user-2's narrower cats leave strips unlabelled: an extent finding about Cat explains
    the missed-object and unlabeled-gap regions where user-2 is the minority."""
    queue = review_queue(ls, ls_regions, [finding("extent", ("Cat",), (1,), ("user-2",))])
    explained = queue[queue.finding != ""]
    assert len(explained) and set(explained.annotators) == {"user-2"}
    assert set(explained.kind) <= {"missed object", "unlabeled gap"}
    assert set(explained.region) == set(queue[queue.annotators == "user-2"].region)
    assert (explained.priority == 2 * explained.severity).all()
    assert explained.why.iloc[0].startswith("user-2 leaves unlabelled the Cat that user-1, "
                                            "user-3 label (")


def test_what_a_finding_does_not_explain(ls, ls_regions):
    user3 = set(review_queue(ls, ls_regions, top=100).query("annotators == 'user-3'").region)
    for f in (finding(annotators=("user-2",)),  # another annotator
              finding(ids=(1,), categories=("Cat",), kind="split"),  # another kind
              finding(images=("nowhere.jpg",)),  # other images
              finding(ids=(1, 3), categories=("Cat", "Dog")),  # another class pair
              # painting order of Cat: not a class confusion between Cat and Cats
              finding("layer_overlap", ("Cat",), (1,), ("user-3",))):
        queue = review_queue(ls, ls_regions, [f], top=100)
        assert not set(queue[queue.finding != ""].region) & user3, f
    queue = review_queue(ls, ls_regions, [finding(annotators=("user-3",))], top=100)
    assert set(queue[queue.finding != ""].region) == user3


def test_a_small_object_finding_explains_only_objects_under_its_size(ls, ls_regions):
    """missed_small is about objects under its size: a larger missed object is not its (the
    sample's 12,998 px truck was "explained" by a finding about objects under 5,408 px)."""
    missed = ls_regions[ls_regions.kind == "missed object"]
    assert len(missed) >= 2
    size = float(np.median(missed.area)) + 0.5
    queue = review_queue(ls, ls_regions, [finding("missed_small", (), (), (), evidence={
        "size_px": size})], top=1000).set_index("region")
    rows = queue.loc[[int(r) for r in missed["rank"]]]
    explained = rows.finding != ""
    assert explained.any() and (~explained).any()
    assert (rows.area[explained] < size).all() and (rows.area[~explained] >= size).all()
    queue = review_queue(ls, ls_regions, [finding("missed_small", (), (), ())],
                         top=1000).set_index("region")  # no size given: every missed object
    assert (queue.loc[[int(r) for r in missed["rank"]]].finding != "").all()


def test_a_finding_listing_a_region_explains_it_first(ls, ls_regions):
    last = int(ls_regions["rank"].max())
    listed = finding("merge", ("Dog",), (9,), ("someone",), evidence={"regions": [last]}, rank=2)
    other = finding(annotators=(), rank=1)  # explains every Cat/Cats confusion
    queue = review_queue(ls, ls_regions, [other, listed], top=1000).set_index("region")
    assert queue.loc[last, "finding"] == "finding 2 (merge Dog: someone)"
    as_records = finding("merge", ("Dog",), (9,), ("someone",), rank=2,
                         evidence={"example_regions": [{"rank": last, "image": "x"}]})
    queue = review_queue(ls, ls_regions, [other, as_records], top=1000).set_index("region")
    assert queue.loc[last, "finding"] == "finding 2 (merge Dog: someone)"
    # the records as agreement.diagnosis writes them (findings.json): the rank is "region"
    as_diagnosis = finding("merge", ("Dog",), (9,), ("someone",), rank=2,
                           evidence={"regions": [{"region": last, "image": "x", "area": 5}]})
    queue = review_queue(ls, ls_regions, [other, as_diagnosis], top=1000).set_index("region")
    assert queue.loc[last, "finding"] == "finding 2 (merge Dog: someone)"


def test_findings_as_their_json_mappings(ls, ls_regions):
    f = finding(annotators=("user-3",)).to_dict()
    assert isinstance(f["images"], int)  # findings.json: a count; the names in image_names
    by_object = review_queue(ls, ls_regions, [finding(annotators=("user-3",))])
    by_mapping = review_queue(ls, ls_regions, [f])
    pd.testing.assert_frame_equal(by_object, by_mapping)


def test_the_queue_is_bounded_and_checked(ls, ls_regions):
    assert len(review_queue(ls, ls_regions, top=3)) == 3
    assert review_queue(ls, ls_regions, top=0).columns.tolist() == REVIEW_COLUMNS
    with pytest.raises(StudyError, match="top must be >= 0"):
        review_queue(ls, ls_regions, top=-1)
    with pytest.raises(StudyError, match="finding_weight must be >= 1"):
        review_queue(ls, ls_regions, finding_weight=0.5)


def test_a_study_without_tool_references_leaves_the_tool_columns_empty():
    study = load_study(Path(__file__).resolve().parent.parent / "data" / "sample" / "batch1")
    queue = review_queue(study, top=5)
    assert (queue[["tool", "tool_image", "task", "frame", "jobs", "annotations"]] == "").all(
        axis=None)
    assert queue.image.iloc[0] == "street_010.jpg" and queue.annotators.iloc[0] == "dana"


def test_cli_review_writes_the_csv_and_prints_the_first_rows(ls_dir, ls, tmp_path, capsys):
    out = tmp_path / "queue.csv"
    assert main(["review", str(ls_dir), "--out", str(out), "--top", "7", "--show", "2"]) == 0
    captured = capsys.readouterr()
    written = pd.read_csv(out, keep_default_na=False, dtype=str)
    assert len(written) == 7 and written.columns.tolist() == REVIEW_COLUMNS
    assert written.annotations[0] in captured.out and written.image[1] in captured.out
    assert written.image[2] not in captured.out.split(written.image[1])[1]
    assert f"7 region(s) to review written to {out}" in captured.err
    assert main(["review", str(ls_dir), "--out", str(out), "--json", "--top", "3"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert captured.err == "" and doc["rows"] == 3 and doc["out"] == str(out)
    assert doc["queue"][0]["annotations"] == written.annotations[0]
    assert doc["annotators"] == ["user-1", "user-2", "user-3"]


def test_cli_review_with_findings_on_the_sample(tmp_path, capsys):
    sample = Path(__file__).resolve().parent.parent / "data" / "sample" / "batch1"
    out = tmp_path / "q.csv"
    assert main(["review", str(sample), "--out", str(out), "--findings", "--top", "20"]) == 0
    queue = pd.read_csv(out, keep_default_na=False)
    chen = queue[queue.finding.str.contains("boundary_offset road/sidewalk: chen")]
    assert len(chen) and set(chen.annotators) == {"chen"}
    assert (chen.class_pair == "road <-> sidewalk").all()
    captured = capsys.readouterr()
    assert "finding(s)" in captured.err
    # printed: the finding of each row, no empty tool columns (a COCO study has no tool ids)
    header = captured.out.splitlines()[0].split()
    assert header[-2:] == ["annotators", "finding"] and "tool" not in header
    first = captured.out.splitlines()[1]
    assert first.split()[1] == queue.image[0] and first.endswith(queue.finding[0])


@pytest.mark.parametrize("tool", ["cvat", "labelstudio"])
def test_the_report_writes_the_queue_with_the_tool_ids(tool, cvat, ls, ls_dir, tmp_path,
                                                       capsys):
    study_dir = ls_dir if tool == "labelstudio" else cvat_study(tmp_path / "study")
    study = ls if tool == "labelstudio" else cvat
    out = tmp_path / "report"
    assert main(["report", str(study_dir), "--out", str(out), "--bootstrap", "0", "-q",
                 "--review-rows", "12", "--max-examples", "1"]) == 0
    written = pd.read_csv(out / "review_queue.csv", keep_default_na=False, dtype=str)
    assert len(written) == 12 and (written.tool == tool).all()
    refs = {(a, i.file_name): i.tool_ref for a in study.annotators
            for i in study.source(a).images}
    for row in written.itertuples():
        mine = [refs[(a, row.image)] for a in row.annotators.split(", ")]
        if tool == "cvat":
            assert row.jobs == "; ".join(f"{a}={r.job_id}" for a, r in
                                         zip(row.annotators.split(", "), mine, strict=True))
            assert row.frame == str(mine[0].frame)
        else:
            assert row.task == str(mine[0].task_id)
            assert row.annotations == "; ".join(
                f"{a}={r.annotation_id}" for a, r in
                zip(row.annotators.split(", "), mine, strict=True))
    html = (out / "report.html").read_text()
    assert "where each of their annotations lives in the annotation tool" in html
    first = written.iloc[0]
    assert (first.jobs if tool == "cvat" else first.annotations) in html


POOL = [finding(annotators=("user-3",)), finding("extent", ("Cat",), (1,), ("user-2",), rank=2),
        finding(images=("pexels-fox-58267-762986.jpg",), rank=3),
        finding("merge", ("Cat",), (1,), evidence={"regions": [5, 9]}, rank=4)]


@given(top=st.integers(0, 30), weight=st.floats(1, 4),
       chosen=st.lists(st.sampled_from(range(len(POOL))), unique=True))
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_queue_invariants(ls, ls_regions, top, weight, chosen):
    found = [POOL[k] for k in chosen]
    full = review_queue(ls, ls_regions, found, top=1000, finding_weight=weight)
    queue = review_queue(ls, ls_regions, found, top=top, finding_weight=weight)
    assert len(queue) == min(top, len(ls_regions))
    assert queue["rank"].tolist() == list(range(1, len(queue) + 1))
    pd.testing.assert_frame_equal(queue, full.head(top))  # the first rows of the whole ranking
    assert full.priority.is_monotonic_decreasing
    assert sorted(full.region) == sorted(ls_regions["rank"])
    explained = full.finding != ""
    assert (full.priority[explained] == weight * full.severity[explained]).all()
    assert (full.priority[~explained] == full.severity[~explained]).all()
    if not found:
        assert not explained.any() and full.region.tolist() == ls_regions["rank"].tolist()
