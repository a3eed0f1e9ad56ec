"""Study folders that mix tools match categories by name (CVAT and Label Studio have no ids).

The new-user trial's failing studies are rebuilt here from the shapes of test_mixed_study: s7 (two
CVAT XMLs listing the labels in different orders) and s5 (a CVAT XML and a Label Studio JSON of the
same images and labels); COCO panoptic mixed with CVAT or COCO instances (the panoptic file's
``isthing`` gives road its stuff flag); the cases still refused and the note of a study whose
exports state no thing / stuff.
"""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_mixed_study import (
    CATS,
    IMAGES,
    same_partition,
    truth,
    write_coco_instances,
    write_cvat,
    write_labelstudio,
)

from agreement.cli import main
from agreement.errors import StudyError
from agreement.io import write_coco_panoptic
from agreement.io._catmatch import Export, shared_categories
from agreement.io.layers import ShapeSource
from agreement.io.study_loader import load_study, open_study
from agreement.model import Categories, Category, PanopticAnnotation
from agreement.study.pq import evaluate

LABELS = ("car", "person", "road")
GTS = {a: truth(a) for a in "ABC"}
CATEGORIES = Categories.from_coco(CATS)


def folder(tmp_path, name="study"):
    out = tmp_path / name
    out.mkdir()
    return out


def pq_by_name(study, ref, other):
    """{class name: (tp, fp, fn, iou sum)} and the overall PQ of one pair."""
    result = evaluate(study, boundary=False, segments=False, diagnoses=False).pq(ref, other)
    rows = result.per_class.set_index("name")[["tp", "fp", "fn", "iou_sum"]]
    return {n: tuple(r) for n, r in rows.iterrows()}, result.pq


def write_panoptic(path, gt, cats=CATEGORIES):
    write_coco_panoptic([gt[n]["ann"] for n in IMAGES], cats, path)


def test_two_cvat_files_with_other_label_orders_load_by_name(tmp_path):  # trial s7
    mixed, same = folder(tmp_path, "mixed"), folder(tmp_path, "same")
    write_cvat(mixed / "a.xml", GTS["A"], labels=("road", "person", "car"))
    write_cvat(mixed / "b.xml", GTS["B"], labels=("car", "road", "person"))
    write_cvat(same / "a.xml", GTS["A"], labels=("road", "person", "car"))
    write_cvat(same / "b.xml", GTS["B"], labels=("road", "person", "car"))
    study = load_study(mixed)
    # the first export's order, ids 1, 2, 3; every class a thing (no file states otherwise)
    assert [(c.id, c.name, c.isthing) for c in study.categories.values()] == [
        (1, "road", True), (2, "person", True), (3, "car", True)]
    assert study.categories == load_study(same).categories
    assert study.source("b").categories == study.categories  # read again with the shared set
    assert pq_by_name(study, "a", "b") == pq_by_name(load_study(same), "a", "b")


def test_cvat_and_labelstudio_give_the_pq_of_one_tool(tmp_path):  # trial s5
    mixed, cvat = folder(tmp_path, "mixed"), folder(tmp_path, "cvat")
    write_cvat(mixed / "A.xml", GTS["A"], labels=("road", "person", "car"))
    write_labelstudio(mixed / "B.json", GTS["B"])  # labels sorted: car 1, person 2, road 3
    write_cvat(cvat / "A.xml", GTS["A"], labels=("road", "person", "car"))
    write_cvat(cvat / "B.xml", GTS["B"], labels=("road", "person", "car"))
    # road stuff (painted below the things in both tools): the same maps as in one tool
    study, one_tool = load_study(mixed, stuff=["road"]), load_study(cvat, stuff=["road"])
    assert study.categories == one_tool.categories
    assert [(c.name, c.isthing) for c in study.categories.values()] == [
        ("road", False), ("person", True), ("car", True)]
    for image in IMAGES:
        got, want = study.annotations(image), one_tool.annotations(image)
        assert same_partition(got["B"], want["B"])
    classes, value = pq_by_name(study, "A", "B")
    assert (classes, value) == pq_by_name(one_tool, "A", "B")
    assert classes["road"][0] == len(IMAGES) and 0.0 < value < 1.0


def test_cvat_and_labelstudio_match_as_a_categories_file_would(tmp_path):
    mixed = folder(tmp_path, "mixed")
    write_cvat(mixed / "A.xml", GTS["A"], labels=("road", "person", "car"))
    write_labelstudio(mixed / "B.json", GTS["B"])
    study = load_study(mixed)
    (mixed / "categories.json").write_text(json.dumps(study.categories.to_coco()))
    given = load_study(mixed)  # the remedy of before: the same set, written down
    assert given.categories == study.categories
    assert pq_by_name(study, "A", "B") == pq_by_name(given, "A", "B")


@settings(max_examples=8, deadline=None)
@given(order=st.permutations(LABELS))
def test_label_order_of_a_cvat_file_does_not_change_results(tmp_path_factory, order):
    base = tmp_path_factory.mktemp("perm")
    write_cvat(base / "a.xml", GTS["A"])
    write_cvat(base / "b.xml", GTS["B"], labels=tuple(order))
    ref = tmp_path_factory.mktemp("ref")
    write_cvat(ref / "a.xml", GTS["A"])
    write_cvat(ref / "b.xml", GTS["B"])
    study = load_study(base)
    assert study.categories == load_study(ref).categories
    assert pq_by_name(study, "a", "b") == pq_by_name(load_study(ref), "a", "b")


def test_cvat_road_takes_the_stuff_flag_of_coco_panoptic(tmp_path):
    mixed = folder(tmp_path)
    write_cvat(mixed / "a.xml", GTS["A"], labels=("road", "car", "person", "bus"))
    write_panoptic(mixed / "p.json", GTS["B"])  # car 1, person 2, road 7 (stuff)
    study = load_study(mixed)
    # panoptic's categories first, then the new name after the largest id
    assert [(c.id, c.name, c.isthing) for c in study.categories.values()] == [
        (1, "car", True), (2, "person", True), (7, "road", False), (8, "bus", True)]
    for image in IMAGES:
        got = study.annotations(image)["a"]
        assert same_partition(got, GTS["A"][image]["ann"])
    classes, _ = pq_by_name(study, "a", "p")
    assert classes["road"][0] == len(IMAGES)  # road matched as stuff in every image


def test_coco_instances_without_isthing_take_it_from_panoptic(tmp_path):
    mixed = folder(tmp_path)
    write_coco_instances(mixed / "a.json", GTS["A"])  # first in study order
    doc = json.loads((mixed / "a.json").read_text())
    doc["categories"] = [{"id": c["id"], "name": c["name"]} for c in CATS]  # no isthing
    (mixed / "a.json").write_text(json.dumps(doc))
    write_panoptic(mixed / "b.json", GTS["B"])
    study = load_study(mixed)
    assert study.categories == CATEGORIES
    assert study.source("a").categories == CATEGORIES
    assert open_study(mixed).notes == ()


def test_two_panoptic_files_numbering_a_class_differently_are_refused(tmp_path):
    mixed = folder(tmp_path)
    write_panoptic(mixed / "a.json", GTS["A"])
    other = Categories([Category(1, "car", True), Category(2, "person", True),
                        Category(9, "road", False)])
    anns = _renumbered([GTS["B"][n]["ann"] for n in IMAGES], {7: 9})
    write_coco_panoptic(anns, other, mixed / "b.json")
    with pytest.raises(StudyError, match=r"annotator 'b', file '.*b\.json': category 'road' "
                       r"must have id 7 as in annotator 'a', file '.*a\.json', got 'road' with "
                       r"id 9 \(COCO panoptic files keep their category ids"):
        load_study(mixed)


def _renumbered(anns, mapping):
    out = []
    for a in anns:
        cats = {s.id: mapping.get(s.category_id, s.category_id) for s in a.segments}
        out.append(PanopticAnnotation.from_map(a.ids, cats, file_name=a.image.file_name))
    return out


def test_two_files_stating_different_thing_stuff_are_refused(tmp_path):
    mixed = folder(tmp_path)
    write_panoptic(mixed / "a.json", GTS["A"])  # road stuff
    write_coco_instances(mixed / "b.json", GTS["B"])
    doc = json.loads((mixed / "b.json").read_text())
    doc["categories"] = [{**c, "id": c["id"] + 10, "isthing": 1} for c in CATS]
    for ann in doc["annotations"]:
        ann["category_id"] += 10
    (mixed / "b.json").write_text(json.dumps(doc))
    with pytest.raises(StudyError, match=r"annotator 'b', file '.*b\.json': category 'road' "
                       r"must be stuff as in annotator 'a', file '.*a\.json', got a thing "
                       r"\(both files state isthing"):
        load_study(mixed)


def test_panoptic_without_isthing_against_a_stated_flag_is_refused(tmp_path):
    mixed = folder(tmp_path)
    write_panoptic(mixed / "a.json", GTS["A"])
    doc = json.loads((mixed / "a.json").read_text())
    doc["categories"] = [{k: v for k, v in c.items() if k != "isthing"}
                         for c in doc["categories"]]  # as Datumaro writes it: road a thing
    (mixed / "a.json").write_text(json.dumps(doc))
    write_coco_instances(mixed / "b.json", GTS["B"])  # states road stuff, other numbering
    doc = json.loads((mixed / "b.json").read_text())
    doc["categories"] = [{**c, "id": c["id"] + 10} for c in CATS]
    for ann in doc["annotations"]:
        ann["category_id"] += 10
    (mixed / "b.json").write_text(json.dumps(doc))
    with pytest.raises(StudyError, match=r"annotator 'a', file '.*a\.json': category 'road' "
                       r"must be stuff as another export states, got a thing \(this file "
                       r"states no isthing"):
        load_study(mixed)


def test_a_categories_file_still_decides(tmp_path):
    mixed = folder(tmp_path)
    write_cvat(mixed / "a.xml", GTS["A"], labels=("road", "person", "car"))
    write_labelstudio(mixed / "b.json", GTS["B"])
    (mixed / "categories.json").write_text(json.dumps(CATS))
    study = load_study(mixed)
    assert study.categories == CATEGORIES
    assert open_study(mixed).notes == ()


def test_shared_categories_order_and_ids():
    def src(name, *cats):
        return ShapeSource(name, Categories(cats), [], {})

    pan = src("p.json", Category(3, "sky", False), Category(5, "car", True))
    a = src("a.xml", Category(1, "car", True), Category(2, "bus", True))
    b = src("b.json", Category(1, "bike", True), Category(2, "bus", True),
            Category(3, "sky", True))
    got = shared_categories([Export("a", a, True), Export("b", b, True),
                             Export("p", pan, False)])
    assert [(c.id, c.name, c.isthing) for c in got.values()] == [
        (3, "sky", False), (5, "car", True), (6, "bus", True), (7, "bike", True)]


def test_the_note_on_exports_without_thing_stuff(tmp_path, capsys):
    mixed = folder(tmp_path)
    write_cvat(mixed / "a.xml", GTS["A"], labels=("road", "person", "car"))
    write_labelstudio(mixed / "b.json", GTS["B"])
    assert main(["summary", str(mixed)]) == 0
    err = capsys.readouterr().err
    assert err.count("note: ") == 1
    assert ("note: the exports state no thing / stuff (CVAT and Label Studio have no such flag, "
            "COCO instances may lack isthing): every class (3) is read as a thing; to make some "
            "classes stuff, put a categories.json in the study folder (a COCO categories list "
            'with "isthing": 0 for stuff') in err
    assert main(["validate", str(mixed), "--stuff", "road"]) in (0, 1)
    assert "thing / stuff" not in capsys.readouterr().err
    write_panoptic(mixed / "p.json", GTS["C"])
    assert main(["summary", str(mixed)]) == 0
    assert "note:" not in capsys.readouterr().err


def test_no_note_on_a_coco_panoptic_study(tmp_path, capsys):
    study = folder(tmp_path)
    for a in "AB":
        write_panoptic(study / f"{a}.json", GTS[a])
    assert main(["summary", str(study)]) == 0
    assert "note:" not in capsys.readouterr().err


def test_a_study_file_without_categories_matches_by_name(tmp_path):
    mixed = folder(tmp_path)
    write_cvat(mixed / "a.xml", GTS["A"], labels=("road", "person", "car"))
    write_labelstudio(mixed / "b.json", GTS["B"])
    want = load_study(mixed)
    (mixed / "study.toml").write_text('[annotators.first]\npath = "a.xml"\n\n'
                                      '[annotators.second]\npath = "b.json"\n')
    study = load_study(mixed / "study.toml")
    assert study.annotators == ("first", "second")
    assert study.categories == want.categories
    assert study.source("second").categories == want.categories
    assert pq_by_name(study, "first", "second")[1] == pq_by_name(want, "a", "b")[1]
    assert "thing / stuff" in open_study(mixed / "study.toml").notes[0]


def test_panoptic_files_differing_only_in_colours_still_match_with_a_cvat_file(tmp_path):
    """Colours (or supercategories) are not part of a category's identity, as in
    merge_categories: two panoptic files that differ only there, beside a CVAT file whose
    label order makes matching run, load."""
    from dataclasses import replace

    mixed = folder(tmp_path)
    write_panoptic(mixed / "a.json", GTS["A"])
    recoloured = Categories([replace(c, color=(1, 2, 3)) for c in CATEGORIES.values()])
    write_panoptic(mixed / "b.json", GTS["B"], recoloured)
    write_cvat(mixed / "c.xml", GTS["A"], labels=("road", "person", "car"))
    study = load_study(mixed)
    assert [(c.id, c.name, c.isthing) for c in study.categories.values()] == [
        (c.id, c.name, c.isthing) for c in CATEGORIES.values()]
    for image in IMAGES:
        assert same_partition(study.annotations(image)["c"], GTS["A"][image]["ann"])


def test_sources_with_classes_of_their_own_are_not_matched_by_name():
    """Label maps and BSDS state no categories of a tool (stated_flags is None): a study of
    one with a CVAT file is left as it was read, and refused by id as before."""
    from agreement.io._catmatch import match_by_name
    from agreement.model import MemorySource, Study

    cvat = ShapeSource("a.xml", Categories([Category(1, "road", True),
                                            Category(2, "car", True)]), [], {})
    maps = MemorySource("maps", [], Categories([Category(1, "region", True)]))
    expanded = {"a": {None: cvat}, "maps": {None: maps}}
    read_again = []
    out = match_by_name(expanded, renumberable={"a": True, "maps": False},
                        reread=lambda entry, cats: read_again.append(entry))
    assert out is expanded and read_again == []
    with pytest.raises(StudyError, match="category 1 must be 'road'"):
        Study({"a": cvat, "maps": maps})
