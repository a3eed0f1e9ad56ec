"""CVAT for images 1.1 XML reader: exact mask decoding (cvat-sdk oracle), layers, annotators,
unsafe XML."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pycocotools import mask as coco_mask

from agreement.errors import AnnotationError, FormatError
from agreement.io._shapes import coco_decode
from agreement.io.cvat import read_cvat, read_cvat_sources
from agreement.io.study_loader import load_study

cvat_masks = pytest.importorskip("cvat_sdk.masks")
FIX = Path(__file__).parent / "data" / "fixtures" / "cvat"

LABELS = ("car", "road", "person")


def encode_cvat(box: np.ndarray) -> list[int]:
    """CVAT mask RLE: runs over the row-major box, starting with background."""
    flat = np.asarray(box, bool).ravel()
    change = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(bounds).tolist()
    return [0, *runs] if flat[0] else runs


def mask_xml(box, left, top, label="car", z=0, extra=""):
    rle = ", ".join(map(str, encode_cvat(box)))
    h, w = box.shape
    return (f'<mask label="{label}" source="manual" occluded="0" rle="{rle}" left="{left}" '
            f'top="{top}" width="{w}" height="{h}" z_order="{z}"{extra}></mask>')


def poly_xml(points, label="car", z=0, extra="", occluded=0):
    pts = ";".join(f"{x:.2f},{y:.2f}" for x, y in points)
    return f'<polygon label="{label}" points="{pts}" occluded="{occluded}" z_order="{z}"{extra}/>'


def document(images, *, kind="job", assignee="", tasks="", labels=LABELS):
    labs = "".join(f"<label><name>{n}</name><type>any</type></label>" for n in labels)
    who = (f"<assignee><username>{assignee}</username><email/></assignee>" if assignee
           else "<assignee></assignee>")
    body = "".join(
        f'<image id="{i}" name="{name}" width="{w}" height="{h}"{attrs}>{"".join(shapes)}</image>'
        for i, (name, w, h, shapes, attrs) in enumerate(images))
    return (f'<?xml version="1.0" encoding="utf-8"?><annotations><version>1.1</version><meta>'
            f"<{kind}><id>1</id>{tasks}{who}<labels>{labs}</labels></{kind}></meta>{body}"
            "</annotations>")


def write(tmp_path, images, name="a.xml", **kw):
    path = tmp_path / name
    path.write_text(document([(*im, "") if len(im) == 4 else im for im in images], **kw))
    return path


def test_docs_example_mask_decodes_like_cvat_sdk():
    src = read_cvat(FIX / "cvat_docs_example" / "annotations_image_mode_example.xml")
    (mask,) = [s for s in src.shapes("filename000.jpg") if s.name.startswith("mask")]
    crop, top, left = mask.geometry.raster(1200, 1600)
    full = np.zeros((1200, 1600), bool)
    full[top : top + crop.shape[0], left : left + crop.shape[1]] = crop
    g = mask.geometry
    points = [*g.counts.tolist(), g.left, g.top, g.left + g.width - 1, g.top + g.height - 1]
    want = cvat_masks.decode_mask(points, image_width=1600, image_height=1200)
    np.testing.assert_array_equal(full, want)
    assert full.sum() == 149
    # same through pycocotools: row-major H x W is column-major W x H (FORMATS.md §2e)
    rle = coco_mask.frPyObjects({"counts": g.counts.tolist(), "size": [g.width, g.height]},
                                g.width, g.height)
    np.testing.assert_array_equal(crop, coco_decode(rle).T)


@settings(max_examples=25, deadline=None)
@given(box=arrays(bool, st.tuples(st.integers(1, 7), st.integers(1, 9))),
       left=st.integers(0, 4), top=st.integers(0, 3))
def test_hand_encoded_masks_decode_exactly(tmp_path_factory, box, left, top):
    tmp = tmp_path_factory.mktemp("m")
    src = read_cvat(write(tmp, [("x.png", 14, 11, [mask_xml(box, left, top)])]))
    ann = src.load("x.png")
    want = np.zeros((11, 14), bool)
    want[top : top + box.shape[0], left : left + box.shape[1]] = box
    np.testing.assert_array_equal(ann.ids > 0, want)
    points = [*encode_cvat(box), left, top, left + box.shape[1] - 1, top + box.shape[0] - 1]
    np.testing.assert_array_equal(cvat_masks.decode_mask(points, image_width=14,
                                                         image_height=11), want)


def test_square_polygon_matches_pycocotools(tmp_path):
    sq = [(2, 1), (6, 1), (6, 5), (2, 5)]
    ann = read_cvat(write(tmp_path, [("x.png", 8, 7, [poly_xml(sq)])])).load("x.png")
    want = coco_decode(coco_mask.merge(coco_mask.frPyObjects([np.ravel(sq).tolist()], 7, 8)))
    np.testing.assert_array_equal(ann.ids == 1, want)
    assert want.sum() == 16


def test_z_order_negative_group_occluded_and_conflicts(tmp_path):
    big = [(0, 0), (6, 0), (6, 6), (0, 6)]
    small = [(4, 4), (8, 4), (8, 8), (4, 8)]
    part2 = [(9, 0), (10, 0), (10, 2), (9, 2)]
    shapes = [
        poly_xml(big, z=0, extra=' group_id="3"'),
        poly_xml(small, label="person", z=-2),
        poly_xml(part2, z=0, extra=' group_id="3"'),
        '<box label="car" xtl="0" ytl="0" xbr="2" ybr="2" z_order="9"/>',
        '<points label="car" points="1,1"/>', '<tag label="car"/>',
        '<polyline label="road" points="0,0;3,3"/>',
    ]
    src = read_cvat(write(tmp_path, [("x.png", 10, 10, shapes)]))
    res = src.paint("x.png")
    ids = res.annotation.ids
    # the person (z -2) is under the car (z 0) although later in the file
    assert ids[5, 5] == 1 and ids[7, 7] == 2 and ids[1, 9] == 1  # group 3: one car segment
    assert [(s.category_id, s.area) for s in res.annotation.segments] == [(1, 38), (3, 12)]
    assert res.conflicts[["loser", "winner", "pixels"]].values.tolist() == [
        ["polygon #2", "polygon #1", 4]]
    assert "z_order -2 < 0" in res.findings[0].detail
    skipped = sorted(f.detail for f in src.findings if f.kind == "skipped_shape")
    assert skipped == ["1 <box> shape(s) have no area; skipped",
                       "1 <points> shape(s) have no area; skipped",
                       "1 <polyline> shape(s) have no area; skipped",
                       "1 <tag> shape(s) have no area; skipped"]


def test_occluded_is_a_flag_and_labels_come_from_meta(tmp_path):
    shapes = [poly_xml([(0, 0), (3, 0), (3, 3)], occluded=1),
              poly_xml([(0, 0), (3, 0), (3, 3)], label="bus")]
    src = read_cvat(write(tmp_path, [("x.png", 5, 5, shapes)]), stuff=["road"])
    assert [c.name for c in src.categories.values()] == list(LABELS)
    assert src.categories.stuff_ids == (2,)
    assert src.shapes("x.png")[0].occluded is True
    (unknown,) = [f for f in src.findings if f.kind == "unknown_label"]
    assert unknown.severity == "error" and unknown.shape == "polygon #2"


def test_job_assignee_is_the_annotator(tmp_path):
    path = write(tmp_path, [("x.png", 5, 5, [])], assignee="alice")
    (name,) = read_cvat_sources(path)
    assert name == "alice" and read_cvat(path).annotator == "alice"


def test_project_export_is_split_by_task_assignee(tmp_path):
    tasks = ("<tasks><task><id>1</id><assignee><username>ann</username></assignee></task>"
             "<task><id>2</id><assignee></assignee></task></tasks>")
    sq = [(0, 0), (4, 0), (4, 4), (0, 4)]
    images = [("x.png", 6, 6, [poly_xml(sq)], ' task_id="1" subset="default"'),
              ("x.png", 6, 6, [poly_xml(sq, label="person")], ' task_id="2" subset="default"'),
              ("y.png", 6, 6, [], ' task_id="2" subset="default"')]
    path = write(tmp_path, images, kind="project", tasks=tasks)
    sources = read_cvat_sources(path)
    assert sorted(sources) == ["ann", "task-2"]
    assert [i.file_name for i in sources["task-2"].images] == ["x.png", "y.png"]
    with pytest.raises(AnnotationError, match="export must hold one annotator, got 2"):
        read_cvat(path)
    with pytest.raises(AnnotationError, match="image name must appear once per annotator"):
        read_cvat_sources(path, split="none")
    study = load_study(tmp_path)
    assert study.annotators == ("ann", "task-2")
    assert study.annotation("task-2", "x.png").segments[0].category_id == 3


BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<annotations><version>&lol3;</version></annotations>"""

EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<annotations><version>&xxe;</version></annotations>"""


@pytest.mark.parametrize("text", [BOMB, EXTERNAL], ids=["billion-laughs", "external-entity"])
def test_entity_tricks_are_refused_not_expanded(tmp_path, text):
    path = tmp_path / "evil.xml"
    path.write_text(text)
    with pytest.raises(FormatError, match=r"evil\.xml': XML must not declare a DTD or entities "
                       r"\(refused, not expanded"):
        read_cvat_sources(path)


def test_truncated_xml(tmp_path):
    path = write(tmp_path, [("x.png", 5, 5, [])])
    path.write_text(path.read_text()[:-30])
    with pytest.raises(FormatError, match=r"a\.xml': file must be well-formed XML, got"):
        read_cvat_sources(path)


@pytest.mark.parametrize(("rle", "got"), [("3, 5, 20", "28 px (longer)"),
                                          ("3, 5", "8 px (shorter)")])
def test_mask_rle_not_covering_its_box_refuses_its_image_only(tmp_path, capsys, rle, got):
    """Real CVAT exports have held such masks (cvat-ai/cvat#9460): the file is read, the image
    with the mask is refused when painted (validate: an error finding for that image of that
    annotator, exit 1, the other images checked; any other command: exit 2 with the error)."""
    from agreement.cli import main

    bad = (f'<mask label="car" rle="{rle}" left="0" top="0" width="4" height="4" '
           'z_order="0"/>')
    good = mask_xml(np.ones((2, 2), bool), 1, 1)
    message = (r"file '.*a\.xml', image 'x\.png', shape mask #1: mask rle runs must cover its 4x4 "
               r"box exactly \(16 px\), got " + got.replace("(", r"\(").replace(")", r"\)"))
    src = read_cvat(write(tmp_path, [("x.png", 5, 5, [bad]), ("y.png", 5, 5, [good])]))
    assert src.load("y.png").segments[0].area == 4
    with pytest.raises(AnnotationError, match=message):
        src.load("x.png")
    other = write(tmp_path, [("x.png", 5, 5, [good]), ("y.png", 5, 5, [good])], name="b.xml")
    assert other.parent == tmp_path
    out = tmp_path / "v.json"
    assert main(["validate", str(tmp_path), "-q", "--json", str(out)]) == 1
    doc = json.loads(out.read_text())
    errors = [f for f in doc["findings"] if f["severity"] == "error"]
    assert [(f["kind"], f["annotator"], f["image"], f["shape"]) for f in errors] == [
        ("unreadable_image", "a", "x.png", "mask #1")]
    assert main(["disagreement", str(tmp_path), "-q"]) == 2
    assert re.search(message, capsys.readouterr().err)


def test_polygon_with_nan_and_mask_outside_image(tmp_path):
    with pytest.raises(AnnotationError, match=r"image 'x\.png', shape polygon #1: polygon "
                       "coordinates must be finite numbers"):
        read_cvat(write(tmp_path, [("x.png", 5, 5, [poly_xml([(0, 0), (3, float("nan")),
                                                              (3, 3)])])]))
    box = np.ones((3, 3), bool)
    src = read_cvat(write(tmp_path, [("x.png", 5, 5, [mask_xml(box, 3, 3)])], name="b.xml"))
    assert [f.kind for f in src.findings] == ["outside_image"]
    assert src.load("x.png").segments[0].area == 4


def test_rename_maps_image_names(tmp_path):
    path = write(tmp_path, [("sub/x.png", 5, 5, [])])
    assert [i.file_name for i in read_cvat(path, rename=lambda n: n.upper()).images] == \
        ["SUB/X.PNG"]


def test_old_export_without_meta_labels_uses_shape_labels(tmp_path):
    path = tmp_path / "old.xml"
    path.write_text('<annotations><version>1.1</version><image id="0" name="x.png" width="4" '
                    'height="4"><polygon label="tree" points="0,0;4,0;4,4"/></image>'
                    "</annotations>")
    src = read_cvat(path)
    assert [c.name for c in src.categories.values()] == ["tree"]
    assert src.load("x.png").segments[0].area > 0


def _many(n: int) -> list:
    square = [(1, 1), (9, 1), (9, 9), (1, 9)]
    return [(f"img_{k:05d}.png", 16, 12, [poly_xml(square, label=LABELS[k % 3]),
                                          mask_xml(np.eye(4, dtype=bool), 2 + k % 5, 3)])
            for k in range(n)]


def test_the_xml_is_read_as_a_stream_never_whole(tmp_path, monkeypatch):
    """Two streaming reads (elements cleared as handled), no whole-file parse: the same
    sources; a <track> counted; labels of old exports without meta labels from the shapes."""
    import agreement.io.cvat as cvat

    path = write(tmp_path, _many(30), assignee="ann")
    whole = read_cvat_sources(path)

    def refused(*args, **kwargs):
        raise AssertionError("the file was parsed whole")

    monkeypatch.setattr(cvat.SafeET, "fromstring", refused)
    monkeypatch.setattr(cvat, "read_bytes", refused)
    (src,) = read_cvat_sources(path).values()
    (old,) = whole.values()
    assert src.annotator == "ann" and [i.file_name for i in src.images] == [
        f"img_{k:05d}.png" for k in range(30)]
    for info in src.images:
        assert (src.load(info.file_name).ids == old.load(info.file_name).ids).all()
    text = path.read_text().replace("</annotations>", '<track id="0" label="car"/></annotations>')
    text = text.replace("<labels>", "<labels_gone>").replace("</labels>", "</labels_gone>")
    path.write_text(text)
    (src,) = read_cvat_sources(path).values()
    assert [c.name for c in src.categories.values()] == ["car", "road", "person"]
    assert any("1 <track> element(s)" in f.detail for f in src.findings)


def test_reading_holds_no_element_or_shape_per_image(tmp_path):
    """Memory while reading grows by a few hundred bytes an image (the image list), not by the
    file: before, the whole tree and every shape were held (~20 kB an image here)."""
    import tracemalloc

    peaks = []
    for n in (100, 1100):
        path = write(tmp_path, _many(n), name=f"m{n}.xml")
        tracemalloc.start()
        sources = read_cvat_sources(path)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert len(next(iter(sources.values())).images) == n
    assert (peaks[1] - peaks[0]) / 1000 < 2000  # bytes an image


@pytest.mark.parametrize("tail, message", [
    ("<image", "well-formed XML"),
    ("", "root must be <annotations>"),
])
def test_a_broken_stream_is_one_error_naming_the_file(tmp_path, tail, message):
    path = write(tmp_path, _many(3))
    text = path.read_text()
    text = (text.replace("</annotations>", tail) if tail
            else text.replace("<annotations>", "<notes>").replace("</annotations>", "</notes>"))
    path.write_text(text)
    with pytest.raises(FormatError, match=message) as err:
        read_cvat_sources(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("drop", [1, -1])
def test_a_file_changed_between_the_two_reads_is_one_error(tmp_path, monkeypatch, drop):
    import agreement.io.cvat as cvat

    path = write(tmp_path, _many(4))
    real = cvat._scan

    def changed(*args):  # as if the file had one <image> fewer (or more) at the first read
        scan = real(*args)
        for column in (scan.names, scan.tasks, scan.subsets):
            if drop > 0:
                del column[-1]
            else:
                column.append(column[-1])
        return scan

    monkeypatch.setattr(cvat, "_scan", changed)
    with pytest.raises(FormatError, match="must not change while it is read"):
        read_cvat_sources(path)
