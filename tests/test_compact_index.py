"""The compact study index: the COCO panoptic reader's narrow segment columns and PNG names, the
JSON arrays freed as read, the validation findings held as text codes. Each gives back exactly
what the plain structures gave (an oracle for each)."""

from __future__ import annotations

import json
import pickle
import shutil
from array import array

import numpy as np
import pytest
from conftest import TINY, TINY_TABLE, write_export
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agreement.findings import (
    FINDING_COLUMNS,
    KINDS,
    Finding,
    FindingTable,
    findings_frame,
    sort_findings,
)
from agreement.image.checks import _member
from agreement.io import coco_panoptic, read_coco_panoptic
from agreement.io._files import JsonArray, read_json_object
from agreement.io.coco_panoptic import _Column

# values of every width a block takes: 2, 4, 8 bytes and beyond (Python ints)
VALUES = st.one_of(st.integers(-(2**15), 2**15 - 1), st.integers(-(2**31), 2**31 - 1),
                   st.integers(-(2**63), 2**63 - 1), st.integers(-(10**30), 10**30))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # the same patch each time
@given(width=st.sampled_from([1, 4]), data=st.data())
def test_column_gives_back_every_row_across_blocks_and_widths(monkeypatch, width, data):
    monkeypatch.setattr(coco_panoptic, "_ROWS", 3)
    rows = data.draw(st.lists(st.tuples(*[VALUES] * width), max_size=20))
    column = _Column(width)
    for row in rows:
        column.add(row)
    flat = [v for row in rows for v in row]
    lo = data.draw(st.integers(0, len(rows)))
    hi = data.draw(st.integers(lo, len(rows)))
    assert column.rows(0, len(rows)) == flat
    assert column.rows(lo, hi) == flat[lo * width:hi * width]
    assert all(type(v) is int for v in column.rows(0, len(rows)))
    assert all(len(b) <= 3 * width for b in column.blocks)


def test_column_widens_only_the_block_that_needs_it(monkeypatch):
    monkeypatch.setattr(coco_panoptic, "_ROWS", 2)
    column = _Column()
    for v in (1, 2, 3, 70_000, 5, 2**40, 7, 10**30, 9):
        column.add((v,))
    kinds = [b.typecode if isinstance(b, array) else "list" for b in column.blocks]
    assert kinds == ["h", "i", "q", "list", "h"]
    assert column.rows(0, 9) == [1, 2, 3, 70_000, 5, 2**40, 7, 10**30, 9]


def test_a_box_too_wide_for_64_bits_keeps_its_rows_aligned(tmp_path):
    """A value beyond 64 bits in the middle of a box: the values before it are not doubled."""
    table = [dict(s) for s in TINY_TABLE]
    table[1]["bbox"] = [1, 1, 10**30, 2]
    path = write_export(tmp_path, {"a.jpg": (TINY, table), "b.jpg": (TINY, TINY_TABLE)})
    src = read_coco_panoptic(path, check_area=False)
    for name, want in (("a.jpg", table), ("b.jpg", TINY_TABLE)):
        assert [list(s.bbox) for s in src.segments(name)] == [t["bbox"] for t in want]
        assert [s.area for s in src.segments(name)] == [t["area"] for t in want]


def test_many_images_across_blocks_read_as_written(tmp_path, monkeypatch):
    monkeypatch.setattr(coco_panoptic, "_ROWS", 3)
    tables = {f"{k}.jpg": (TINY, TINY_TABLE[:k % 5]) for k in range(12)}
    src = read_coco_panoptic(write_export(tmp_path, tables), check_area=False)
    for name, (_, table) in tables.items():
        got = src.segments(name)
        assert [(s.id, s.category_id, s.iscrowd, s.area, list(s.bbox)) for s in got] == [
            (t["id"], t["category_id"], bool(t["iscrowd"]), t["area"], t["bbox"]) for t in table]
        assert all(type(s.iscrowd) is bool for s in got)


def test_png_names_other_than_the_default_are_kept(tmp_path):
    """The usual PNG name (the image's with .png) is not stored; any other is, and is read."""
    path = write_export(tmp_path, {"a.jpg": (TINY, TINY_TABLE), "b.jpg": (TINY, TINY_TABLE)})
    doc = json.loads(path.read_text())
    doc["annotations"][1]["file_name"] = "other_b.png"
    shutil.move(tmp_path / "panoptic" / "b.png", tmp_path / "panoptic" / "other_b.png")
    path.write_text(json.dumps(doc))
    src = read_coco_panoptic(path)
    assert list(src._png) == ["", "other_b.png"]  # "": the usual name
    assert src._entry("a.jpg")[1] == "a.png" and src._entry("b.jpg")[1] == "other_b.png"
    np.testing.assert_array_equal(src.load("b.jpg").ids, TINY)


def test_json_array_consumed_once_gives_every_element_and_frees_its_blocks(tmp_path,
                                                                             monkeypatch):
    from agreement.io import _files

    monkeypatch.setattr(_files, "_BLOCK", 40)  # several blocks
    items = [{"id": k, "name": f"é{k}", "xs": list(range(k % 4))} for k in range(30)]
    path = tmp_path / "doc.json"
    path.write_text(json.dumps({"a": items, "b": 1}), encoding="utf-8")
    got = read_json_object(path, lazy=("a",))["a"]
    assert isinstance(got, JsonArray) and len(got._blocks) > 3
    assert list(got) == items  # iterating leaves it whole
    # every block but the last in the temporary file, as (offset, size)
    assert all(isinstance(b, tuple) for b, _ in got._blocks[:-1])
    assert isinstance(got._blocks[-1][0], bytes) and got._file.nbytes > 0
    assert list(got.consume()) == items
    assert got._blocks == [] and len(got) == 0 and got._file._file is None  # file let go


def test_json_array_blocks_stay_in_memory_when_no_file_can_be_written(tmp_path, monkeypatch):
    from agreement.io import _blocks, _files

    monkeypatch.setattr(_files, "_BLOCK", 40)

    def no_room(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_blocks.os, "pwrite", no_room)
    items = [{"id": k, "xs": list(range(k % 5))} for k in range(25)]
    path = tmp_path / "doc.json"
    path.write_text(json.dumps({"b": 1, "a": items}), encoding="utf-8")
    got = read_json_object(path, lazy=("a",))["a"]
    assert len(got._blocks) > 3 and all(isinstance(b, bytes) for b, _ in got._blocks)
    assert list(got) == items and list(got.consume()) == items


def test_a_one_block_array_makes_no_file(tmp_path):
    path = tmp_path / "doc.json"
    path.write_text(json.dumps({"a": [1, 2, 3]}), encoding="utf-8")
    got = read_json_object(path, lazy=("a",))["a"]
    assert got._file is None and list(got) == [1, 2, 3]


# ------------------------------------------------------------------------- findings table

TEXTS = st.one_of(st.none(), st.sampled_from(["a", "b", "x.png", "segment 3", "é"]))
FINDINGS = st.builds(
    lambda kind, sev, *rest: Finding(kind, sev, *rest),
    st.sampled_from(sorted(KINDS)), st.sampled_from(["error", "warning", "info", "other"]),
    TEXTS, TEXTS, TEXTS, TEXTS, st.text(max_size=5))


@settings(max_examples=80, deadline=None)
@given(head=st.lists(FINDINGS, max_size=8), body=st.lists(FINDINGS, max_size=25),
       tail=st.lists(FINDINGS, max_size=8))
def test_finding_table_reads_as_the_sorted_records(head, body, tail):
    table = FindingTable()
    for k in range(0, len(body), 4):  # in chunks, as a pass folds them
        table.extend(body[k:k + 4])
    table.extend_front(head)
    table.extend(tail)
    records = head + body + tail
    assert len(table) == len(records)
    assert list(table) == sort_findings(records)
    assert list(pickle.loads(pickle.dumps(table))) == sort_findings(records)
    got, want = findings_frame(table), findings_frame(records)
    assert list(got.columns) == list(FINDING_COLUMNS)
    assert got.equals(want)


def test_finding_table_holds_each_text_once():
    table = FindingTable(Finding.of("tiny_segment", f"car segment of {k % 3} px (< 10)",
                                    image=f"{k % 2}.png") for k in range(100))
    assert sorted(t for t in table._texts if t is not None) == sorted(
        ["tiny_segment", "warning", "0.png", "1.png"]
        + [f"car segment of {k} px (< 10)" for k in range(3)])
    assert all(column.itemsize == 4 for column in table._columns)


def test_empty_finding_table():
    assert list(FindingTable()) == [] and findings_frame(FindingTable()).empty
    assert list(findings_frame(FindingTable()).columns) == list(FINDING_COLUMNS)


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.integers(-5, 40), max_size=30),
       ids=st.sets(st.integers(-5, 40), max_size=10))
def test_member_is_isin(values, ids):
    sorted_ids = np.array(sorted(ids), dtype=np.int64)
    values = np.array(values, dtype=np.int64)
    assert _member(values, sorted_ids).tolist() == np.isin(values, sorted_ids).tolist()


@pytest.mark.parametrize("names", [("a.png", "b.png"), ("A.png", "a.png")])
def test_missing_image_hints_as_before(names):
    """The missing-image findings (the case hint included) over a small study."""
    from agreement.model import Categories, Category, PanopticAnnotation, Study
    from agreement.study.validation import _study_findings

    cats = Categories([Category(1, "road", False)])

    def ann(name):
        return PanopticAnnotation.from_map([[1]], {1: 1}, file_name=name)

    study = Study.from_annotations({"x": [ann(names[0])], "y": [ann(names[1])],
                                    "z": [ann(names[0]), ann(names[1])]}, cats)
    got = [(f.annotator, f.image, f.detail) for f in _study_findings(study)]
    a, b = sorted(names)
    hint = ("; it has {!r}, a name differing only in case (names are case-sensitive: pass "
            "rename= to map them)")
    who = {names[0]: "x", names[1]: "y"}
    other = {a: who[b], b: who[a]}
    want = []
    for image in (a, b):
        near = [i for i in (a, b) if i != image and i.casefold() == image.casefold()]
        want.append((other[image], image, f"annotated by {', '.join(sorted([who[image], 'z']))}"
                     f" only{hint.format(near[0]) if near else ''}"))
    assert got == want


def test_study_index_as_columns():
    """The study's index holds the sorted image keys in one buffer and, per annotator, each
    image's position in its source (-1: not annotated); every view of it reads as the per-image
    mappings did."""
    from agreement.errors import StudyError
    from agreement.model import Categories, Category, PanopticAnnotation, Study

    cats = Categories([Category(1, "road", False)])

    def anns(*names):
        return [PanopticAnnotation.from_map([[1]], {1: 1}, file_name=n) for n in names]

    study = Study.from_annotations({"x": anns("d/a.png", "b.png"), "y": anns("b.png", "c.png"),
                                    "z": anns("a.png")}, cats)
    assert list(study._keys) == ["a.png", "b.png", "c.png"]
    assert [list(w) for w in study._where] == [[0, 1, -1], [-1, 0, 1], [0, -1, -1]]
    assert {i: study._files(i) for i in study.images} == {
        "a.png": {"x": "d/a.png", "z": "a.png"}, "b.png": {"x": "b.png", "y": "b.png"},
        "c.png": {"y": "c.png"}}
    assert study.image_info("a.png").file_name == "d/a.png"  # the first annotator's
    assert [study.annotators_of(i) for i in study.images] == [("x", "z"), ("x", "y"), ("y",)]
    assert study.coverage().values.tolist() == [[True, False, True], [True, True, False],
                                                [False, True, False]]
    assert study.missing().values.tolist() == [["a.png", "y"], ["b.png", "z"], ["c.png", "x"],
                                               ["c.png", "z"]]
    assert study.shared_images(["x", "y"]) == ("b.png",)
    assert study.shared_images(["x", "w"]) == ()
    assert study.annotation("x", "a.png").image.file_name == "d/a.png"
    assert study.summary()["images"].tolist() == [2, 2, 1]
    with pytest.raises(StudyError, match=r"has no annotation of image 'c\.png'"):
        study.annotation("x", "c.png")
    with pytest.raises(StudyError, match="annotator must be one of"):
        study.annotation("w", "c.png")
    with pytest.raises(StudyError, match="must appear once, got it twice"):
        Study.from_annotations({"x": anns("a.png", "d/a.png")}, cats)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(width=st.sampled_from([1, 4]), data=st.data())
def test_column_extend_makes_the_blocks_of_add(monkeypatch, width, data):
    """Rows appended a run at a time (one image's) give the blocks, values and widths of
    rows appended one by one."""
    monkeypatch.setattr(coco_panoptic, "_ROWS", 3)
    runs = data.draw(st.lists(st.lists(st.tuples(*[VALUES] * width), max_size=7), max_size=5))
    by_row, by_run = _Column(width), _Column(width)
    for run in runs:
        for row in run:
            by_row.add(row)
        by_run.extend([v for row in run for v in row])
    kinds = [[(b.typecode if isinstance(b, array) else "list", list(b)) for b in c.blocks]
             for c in (by_row, by_run)]
    assert kinds[0] == kinds[1]


# segments_info entries: ordinary ones, and each field in the forms the checked path accepts
# or refuses (ids out of range or repeated, unknown categories, bools, floats, NaN, missing)
_NUMBER = st.one_of(st.integers(-5, 70_000), st.integers(-(10**20), 10**20),
                    st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(),
                    st.text(max_size=2))
_SEGMENT = st.fixed_dictionaries(
    {"id": st.one_of(st.integers(0, 12), st.integers(1 << 24, (1 << 24) + 1), _NUMBER),
     "category_id": st.one_of(st.sampled_from([1, 7, 9, 99]), _NUMBER)},
    optional={"area": _NUMBER, "iscrowd": st.one_of(st.sampled_from([0, 1, 2]), _NUMBER),
              "bbox": st.one_of(st.lists(_NUMBER, min_size=3, max_size=5), _NUMBER)})
_ORDINARY = st.fixed_dictionaries(
    {"id": st.integers(1, 40), "category_id": st.sampled_from([1, 7, 9, 9, 1, 99]),
     "area": st.one_of(st.integers(0, 10**12), st.floats(0, 1e6)),
     "iscrowd": st.sampled_from([0, 1]),
     "bbox": st.lists(st.one_of(st.integers(-9, 10**10), st.floats(-1e6, 1e6)), min_size=4,
                      max_size=4)})


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tables=st.lists(st.one_of(st.lists(_ORDINARY, max_size=6),
                                 st.lists(st.one_of(_ORDINARY, _SEGMENT), max_size=4),
                                 st.just("not a list"), st.lists(st.integers(), max_size=2)),
                       min_size=1, max_size=4))
def test_plain_segments_read_as_the_checked_path(tmp_path_factory, tables):
    """Every image's segments_info read in one loop when each segment is an ordinary one gives
    the columns (values and widths), findings and errors of the field by field checks."""
    folder = tmp_path_factory.mktemp("plain")
    path = write_export(folder, {f"{k}.jpg": (TINY, t) for k, t in enumerate(tables)})

    def read(plain: bool):
        keep = coco_panoptic._plain_rows
        try:
            if not plain:
                coco_panoptic._plain_rows = lambda entry, categories: None
            src = read_coco_panoptic(path, check_area=False)
        except Exception as exc:  # the same error either way
            return type(exc).__name__, str(exc)
        finally:
            coco_panoptic._plain_rows = keep
        cols = src._columns
        return ([[(b.typecode if isinstance(b, array) else "list", list(b)) for b in c.blocks]
                 for c in (cols.ids, cols.cats, cols.area, cols.bbox)],
                list(cols.crowd), list(cols.offsets), [str(f) for f in src.findings],
                [src.segments(f"{k}.jpg") for k in range(len(tables))])

    assert read(True) == read(False)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(
    st.sampled_from(["tiny_segment", "unknown_label", "missing_image", "crowd_candidate"]),
    st.sampled_from(["error", "warning", "info"]),
    st.one_of(st.none(), st.sampled_from(["ann", "bob", "Zed"])),
    st.one_of(st.none(), st.sampled_from(["a.json", "b.json"])),
    st.one_of(st.none(), st.sampled_from(["x.png", "y.png", "a b.png"])),
    st.one_of(st.none(), st.sampled_from(["segment 1", "segment 12"])),
    st.one_of(st.none(), st.text(max_size=6))), max_size=40))
def test_a_categorical_findings_frame_holds_the_same_texts_and_summary(rows):
    """The report's validation table (categoricals over sorted texts) reads, groups, sorts and
    writes as the table of texts does."""
    from agreement.findings import Finding, FindingTable, findings_frame

    found = [Finding(kind=k, severity=s, annotator=a, file=f, image=i, shape=sh, detail=d)
             for k, s, a, f, i, sh, d in rows]
    table = FindingTable(found)
    plain = findings_frame(table)
    compact = findings_frame(table, categorical=True)
    assert list(compact.columns) == list(plain.columns) and len(compact) == len(plain)
    def texts(col):
        return col.astype(object).where(col.notna(), None).tolist()

    for c in plain.columns:
        assert texts(compact[c]) == texts(plain[c])
    assert compact.to_csv(index=False) == plain.to_csv(index=False)
    if len(plain):
        want = plain.groupby(["severity", "kind"]).size().rename("findings").reset_index()
        got = compact.groupby(["severity", "kind"]).size().rename("findings").reset_index()
        assert got.astype(str).values.tolist() == want.astype(str).values.tolist()


# ------------------------------------------------------------------------- format sniffing
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pad=st.integers(0, 3 * 1024), where=st.sampled_from(["panoptic", "instances", "ls", "none"]),
       read=st.sampled_from([7, 16, 1 << 20]))
def test_sniffing_reads_a_large_json_in_pieces(tmp_path_factory, monkeypatch, pad, where, read):
    """A JSON object longer than the head is scanned a piece at a time (never read whole), and
    a key split between two pieces is still seen: the same format as reading the whole file."""
    from agreement.io import _sniff

    monkeypatch.setattr(_sniff, "_HEAD", 64)
    monkeypatch.setattr(_sniff, "_READ", read)
    keys = {"panoptic": '"annotations": [{"segments_info": []}]',
            "instances": '"annotations": [{"segmentation": [], "bbox": []}]',
            "ls": '"annotations": [], "data": {}', "none": '"other": 1'}
    text = '{"pad": "' + "x" * pad + '", ' + keys[where] + "}"
    path = tmp_path_factory.mktemp("sniff") / "doc.json"
    path.write_text(text, encoding="utf-8")
    whole = {"panoptic": "coco_panoptic", "instances": "coco_instances", "ls": "labelstudio",
             "none": None}[where]
    sizes = []  # every read of the sniffer's own file handles

    class Counted:
        def __init__(self, *args):
            self._fh = open(*args)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._fh.close()

        def read(self, n=-1):
            sizes.append(n)
            return self._fh.read(n)

        def seek(self, at):
            return self._fh.seek(at)

    monkeypatch.setattr(_sniff, "open", Counted, raising=False)
    assert _sniff.sniff(path) == whole
    assert all(0 < n <= max(read, 64) for n in sizes)  # the head, then pieces: never all
