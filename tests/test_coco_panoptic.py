"""COCO panoptic reader and writer: exact round trip, id encoding, and one test per input error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA, TINY, TINY_TABLE, ids_to_png, tree_hashes, write_export
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from agreement import (
    AgreementError,
    AnnotationError,
    Categories,
    FormatError,
    PanopticAnnotation,
    PathEscapeError,
    read_coco_panoptic,
    write_coco_panoptic,
)
from agreement.io import id2rgb, rgb2id
from agreement.io._limits import Limits
from agreement.io.coco_panoptic import CocoPanopticWriter

PANOPTICAPI = DATA / "panopticapi" / "panoptic_examples.json"


# ----------------------------------------------------------------------------- id encoding


def test_rgb2id_matches_the_formula():
    rgb = np.array(
        [[[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 0, 1], [255, 255, 255], [92, 20, 60]]],
        dtype=np.uint8,
    )
    assert rgb2id(rgb).tolist() == [[0, 1, 256], [65536, 16777215, 92 + 20 * 256 + 60 * 65536]]
    assert rgb2id(rgb).dtype == np.int32


def test_id2rgb_of_a_coco_id():
    # 3937500 is the first segment of the panopticapi example: 3937500 = 220 + 20*256 + 60*65536
    assert id2rgb(np.array([[3937500]])).tolist() == [[[220, 20, 60]]]


def test_rgb2id_ignores_alpha():
    rgba = np.array([[[1, 2, 3, 255], [1, 2, 3, 0]]], dtype=np.uint8)
    assert rgb2id(rgba).tolist() == [[197121, 197121]]


@pytest.mark.parametrize("bad", [-1, 1 << 24])
def test_id2rgb_refuses_ids_out_of_24_bits(bad):
    with pytest.raises(ValueError, match=r"segment ids must be in \[0, 2\*\*24\)"):
        id2rgb(np.array([[bad]]))


def test_rgb2id_refuses_a_2d_array():
    with pytest.raises(ValueError, match=r"rgb must have shape \(H, W, 3\)"):
        rgb2id(np.zeros((2, 2), np.uint8))


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        np.int64,
        hnp.array_shapes(min_dims=2, max_dims=2, max_side=8),
        elements=st.integers(0, (1 << 24) - 1),
    )
)
def test_id_rgb_round_trip(ids):
    rgb = id2rgb(ids)
    assert rgb.dtype == np.uint8 and rgb.shape == (*ids.shape, 3)
    np.testing.assert_array_equal(rgb2id(rgb), ids)


# ----------------------------------------------------------------------------- reading


def test_read_tiny_export(tiny_json):
    src = read_coco_panoptic(tiny_json)
    assert [i.file_name for i in src.images] == ["a.jpg"]
    assert src.png_dir == tiny_json.with_suffix("")
    ann = src.load("a.jpg")
    np.testing.assert_array_equal(ann.ids, TINY)
    assert ann.to_frame()["area"].tolist() == [8, 4, 2, 9]
    assert ann.segment(1002).bbox == (4, 1, 1, 2)
    assert ann.void_pixels == 1
    # compact: i + 1 on segments[i] in table order
    assert ann.compact[1].tolist() == [1, 2, 2, 1, 3, 1]
    assert not ann.ids.flags.writeable and not ann.compact.flags.writeable


def test_png_folder_beside_the_json(tmp_path):
    path = write_export(tmp_path, {"a.jpg": (TINY, TINY_TABLE)})
    (tmp_path / "panoptic").rename(tmp_path / "png")
    src = read_coco_panoptic(path)
    assert src.png_dir == tmp_path / "png"
    np.testing.assert_array_equal(src.load("a.jpg").ids, TINY)


def test_missing_png_folder_names_both_candidates(tmp_path):
    path = write_export(tmp_path, {"a.jpg": (TINY, TINY_TABLE)})
    shutil.rmtree(tmp_path / "panoptic")
    with pytest.raises(FormatError, match=r"PNG folder must exist at .*panoptic.* or .*png"):
        read_coco_panoptic(path)


def test_panopticapi_examples_read():
    src = read_coco_panoptic(PANOPTICAPI)
    assert len(src.categories) == 133
    counts = {i.file_name: src.segment_count(i.file_name) for i in src.images}
    assert counts == {"000000142238.jpg": 18, "000000439180.jpg": 32}
    voids = {i.file_name: src.load(i.file_name).void_pixels for i in src.images}
    assert voids == {"000000142238.jpg": 2712, "000000439180.jpg": 7189}  # FORMATS.md, verified
    ann = src.load("000000142238.jpg")
    assert ann.segment(3937500).category_id == 1
    assert ann.segment(3937500).area == int(np.count_nonzero(ann.ids == 3937500)) == 3528


def test_segment_tables_are_kept_exactly_as_the_json_gives_them(tmp_path):
    """The compact segment index (flat arrays) gives back every table as read, values too big
    for int64 included (finite, so accepted: never coerced)."""
    huge = [dict(s) for s in TINY_TABLE]
    huge[0]["area"], huge[1]["bbox"] = 10**30, [0, 0, 2**40, 2]
    huge[2]["iscrowd"] = 1
    path = write_export(tmp_path, {"a.jpg": (TINY, TINY_TABLE), "b.jpg": (TINY, []),
                                   "c.jpg": (TINY, huge)})
    src = read_coco_panoptic(path, check_area=False)
    assert [src.segment_count(n) for n in ("a.jpg", "b.jpg", "c.jpg")] == [4, 0, 4]
    for name, table in (("a.jpg", TINY_TABLE), ("b.jpg", []), ("c.jpg", huge)):
        got = src.segments(name)
        assert [(s.id, s.category_id, s.iscrowd, s.area, list(s.bbox)) for s in got] == [
            (t["id"], t["category_id"], bool(t["iscrowd"]), t["area"], t["bbox"]) for t in table]
        assert all(type(v) is int for s in got for v in (s.id, s.category_id, s.area, *s.bbox))
    assert src.load("a.jpg").segments == src.segments("a.jpg")
    with pytest.raises(AnnotationError, match="must have an annotation"):
        src.segments("z.jpg")


# ----------------------------------------------------------------------------- round trip


def _assert_same(a: PanopticAnnotation, b: PanopticAnnotation) -> None:
    np.testing.assert_array_equal(a.ids, b.ids)
    assert a.segments == b.segments
    assert (a.image.file_name, a.image.height, a.image.width) == (
        b.image.file_name,
        b.image.height,
        b.image.width,
    )


def test_round_trip_tiny(tiny_json, tmp_path):
    src = read_coco_panoptic(tiny_json)
    out = write_coco_panoptic([src.load("a.jpg")], src.categories, tmp_path / "out" / "p.json")
    back = read_coco_panoptic(out)
    assert back.categories == src.categories
    _assert_same(src.load("a.jpg"), back.load("a.jpg"))
    assert back.images[0].id == src.images[0].id


def test_round_trip_panopticapi_examples(tmp_path):
    src = read_coco_panoptic(PANOPTICAPI)
    anns = [src.load(i.file_name) for i in src.images]
    out = write_coco_panoptic(anns, src.categories, tmp_path / "rt.json", tmp_path / "pngs")
    back = read_coco_panoptic(out, tmp_path / "pngs")
    assert back.categories == src.categories
    assert [i.id for i in back.images] == [142238, 439180]
    for ann in anns:
        _assert_same(ann, back.load(ann.image.file_name))
    # and a second round trip writes the same bytes
    again = write_coco_panoptic(
        [back.load(i.file_name) for i in back.images],
        back.categories,
        tmp_path / "rt2.json",
        tmp_path / "pngs2",
    )
    assert again.read_bytes() == out.read_bytes()
    for png in (tmp_path / "pngs").iterdir():
        assert (tmp_path / "pngs2" / png.name).read_bytes() == png.read_bytes()


@settings(max_examples=25, deadline=None)
@given(
    hnp.arrays(
        np.int32,
        st.tuples(st.integers(1, 9), st.integers(1, 9)),
        elements=st.sampled_from([0, 7, 9, 1001, 1002, 70000, 16777215]),
    )
)
def test_round_trip_random_maps(tmp_path_factory, ids):
    present = sorted(set(np.unique(ids).tolist()) - {0})
    cats = Categories.from_coco([{"id": 1, "name": "car"}, {"id": 2, "name": "road", "isthing": 0}])
    ann = PanopticAnnotation.from_map(
        ids, {s: 1 if s > 1000 else 2 for s in present}, file_name="x.png", image_id=5
    )
    folder = tmp_path_factory.mktemp("rt")
    back = read_coco_panoptic(write_coco_panoptic([ann], cats, folder / "p.json")).load("x.png")
    _assert_same(ann, back)


def test_writer_computes_area_and_bbox_from_the_map(tmp_path):
    ann = PanopticAnnotation.from_map(TINY, {9: 9, 1001: 1, 1002: 1, 7: 7}, file_name="a.jpg")
    stale = PanopticAnnotation(
        ann.image, ann.ids, tuple(type(s)(s.id, s.category_id) for s in ann.segments)
    )  # area 0, bbox 0 everywhere
    out = write_coco_panoptic([stale], Categories.from_coco(_cats()), tmp_path / "p.json")
    info = json.loads(out.read_text())["annotations"][0]["segments_info"]
    assert info == TINY_TABLE


@settings(max_examples=30, deadline=None)
@given(n=st.integers(0, 4), info=st.dictionaries(st.text(max_size=4), st.one_of(
    st.integers(), st.text(max_size=6), st.lists(st.integers(), max_size=2)), max_size=3),
    name=st.text(alphabet="ab\u00e9\n\"\t", min_size=1, max_size=5))
def test_writer_json_is_that_of_one_dumps_of_the_whole_document(tmp_path_factory, n, info, name):
    """The writer keeps its two long lists as text in temporary files: the file is still, byte
    for byte, ``json.dumps(document, indent=1)`` (nested lists, empty lists, escapes)."""
    cats = Categories.from_coco(_cats())
    anns = [PanopticAnnotation.from_map(TINY, {9: 9, 1001: 1, 1002: 1, 7: 7},
                                        file_name=f"{name}{k}.jpg", image_id=k + 3)
            for k in range(n)]
    out = write_coco_panoptic(anns, cats, tmp_path_factory.mktemp("w") / "p.json", info=info)
    doc = {"info": info, "licenses": [],
           "images": [{"id": k + 3, "file_name": f"{name}{k}.jpg", "height": TINY.shape[0],
                       "width": TINY.shape[1]}
                      for k in range(n)],
           "annotations": [{"image_id": k + 3, "file_name": Path(f"{name}{k}.jpg").with_suffix(
               ".png").name, "segments_info": TINY_TABLE} for k in range(n)],
           "categories": cats.to_coco()}
    assert out.read_text(encoding="utf-8") == json.dumps(doc, indent=1) + "\n"


def test_writer_holds_nothing_of_an_image_it_has_written(tmp_path):
    """Traced memory while writing n and 4n annotations: what grows is the writer's ids and
    PNG names (~100 bytes an image), not the images' entries (~1.5 kB each here)."""
    import tracemalloc

    cats = Categories.from_coco(_cats())
    ids = np.repeat(np.repeat(np.arange(40, dtype=np.int32).reshape(5, 8) + 1001, 4, 0), 4, 1)
    table = {int(i): 1 for i in np.unique(ids)}

    def peak(n: int) -> int:
        writer = CocoPanopticWriter(cats, tmp_path / f"p{n}.json")
        tracemalloc.start()
        for k in range(n):
            writer.add(PanopticAnnotation.from_map(ids, table, file_name=f"i{k}.jpg"))
        held = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        writer.close()
        return held

    small, large = peak(60), peak(240)
    assert (large - small) / 180 < 600, (small, large)
    assert len(json.loads((tmp_path / "p240.json").read_text())["annotations"]) == 240


def test_a_closed_writer_closes_again_quietly_and_takes_nothing_more(tmp_path):
    cats = Categories.from_coco(_cats())
    writer = CocoPanopticWriter(cats, tmp_path / "p.json")
    writer.add(PanopticAnnotation.from_map(TINY, {9: 9, 1001: 1, 1002: 1, 7: 7},
                                           file_name="a.jpg"))
    text = writer.close().read_text()
    assert writer.close().read_text() == text and len(json.loads(text)["annotations"]) == 1
    with pytest.raises(AgreementError, match=r"p\.json' must be open to add annotations, "
                       "got one already closed"):
        writer.add(PanopticAnnotation.from_map(TINY, {9: 9, 1001: 1, 1002: 1, 7: 7},
                                               file_name="b.jpg"))


def test_writer_refuses_a_segment_absent_from_the_map(tmp_path):
    ann = PanopticAnnotation.from_map(TINY, {9: 9, 1001: 1, 1002: 1, 7: 7, 55: 1}, file_name="a")
    with pytest.raises(
        AnnotationError, match="segment 55: segment is in the segment table but not"
    ):
        write_coco_panoptic([ann], Categories.from_coco(_cats()), tmp_path / "p.json")
    assert not (tmp_path / "p.json").exists()


def test_writer_refuses_a_category_it_does_not_write(tmp_path):
    ann = PanopticAnnotation.from_map(TINY, {9: 9, 1001: 1, 1002: 4, 7: 7}, file_name="a")
    with pytest.raises(
        AnnotationError,
        match="segment 1002: category id must be one of the categories written, got 4",
    ):
        write_coco_panoptic([ann], Categories.from_coco(_cats()), tmp_path / "p.json")


def test_writer_refuses_two_images_with_one_png_name(tmp_path):
    a = PanopticAnnotation.from_map(TINY, {9: 9, 1001: 1, 1002: 1, 7: 7}, file_name="x/a.jpg")
    b = PanopticAnnotation.from_map(TINY, {9: 9, 1001: 1, 1002: 1, 7: 7}, file_name="y/a.jpg")
    with pytest.raises(
        AnnotationError, match=r"PNG names must be unique, got id 2 / 'a.png' twice"
    ):
        write_coco_panoptic([a, b], Categories.from_coco(_cats()), tmp_path / "p.json")


def _cats() -> list[dict]:
    from conftest import CATEGORIES

    return CATEGORIES


# ----------------------------------------------------------------------------- input errors


def _edit(json_path: Path, fn) -> None:
    doc = json.loads(json_path.read_text())
    fn(doc)
    json_path.write_text(json.dumps(doc))


def test_error_png_size_differs_from_json(tiny_json):
    ids_to_png(TINY[:, :5], tiny_json.with_suffix("") / "a.png")
    src = read_coco_panoptic(tiny_json)
    with pytest.raises(
        AnnotationError,
        match=r"a\.png', image 'a\.jpg': PNG size must equal the "
        r"JSON's image size 6x4 \(width x height\), got 5x4",
    ):
        src.load("a.jpg")


def test_error_segment_in_json_absent_from_png(tiny_json):
    _edit(
        tiny_json,
        lambda d: d["annotations"][0]["segments_info"].append(
            {"id": 1003, "category_id": 1, "iscrowd": 0, "area": 5, "bbox": [0, 0, 1, 1]}
        ),
    )
    with pytest.raises(
        AnnotationError,
        match=r"file '.*panoptic.json', image 'a.jpg', segment 1003: "
        "segment is in the JSON but not in the PNG",
    ):
        read_coco_panoptic(tiny_json).load("a.jpg")


def test_error_segment_in_png_absent_from_json(tiny_json):
    _edit(tiny_json, lambda d: d["annotations"][0]["segments_info"].pop(2))  # drop 1002
    with pytest.raises(
        AnnotationError,
        match=r"image 'a.jpg', segment 1002: segment is in the PNG "
        r"but not in the JSON \(1 such id\(s\): \[1002\]\)",
    ):
        read_coco_panoptic(tiny_json).load("a.jpg")


def test_error_unknown_category(tiny_json):
    _edit(tiny_json, lambda d: d["annotations"][0]["segments_info"][1].update(category_id=42))
    with pytest.raises(
        AnnotationError,
        match=r"image 'a.jpg', segment 1001: category id must be one "
        "of the file's categories, got 42",
    ):
        read_coco_panoptic(tiny_json)


def test_error_duplicate_segment_ids(tiny_json):
    _edit(tiny_json, lambda d: d["annotations"][0]["segments_info"][2].update(id=1001))
    with pytest.raises(
        AnnotationError,
        match="segment 1001: segment ids must be unique within an image, got this id twice",
    ):
        read_coco_panoptic(tiny_json)


def test_error_unreadable_png(tiny_json):
    (tiny_json.with_suffix("") / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.raises(FormatError, match=r"a\.png', image 'a\.jpg': PNG must be readable, got"):
        read_coco_panoptic(tiny_json).load("a.jpg")


def test_error_missing_png(tiny_json):
    (tiny_json.with_suffix("") / "a.png").unlink()
    with pytest.raises(FormatError, match=r"image 'a\.jpg': PNG must exist, got no such file"):
        read_coco_panoptic(tiny_json).load("a.jpg")


@pytest.mark.parametrize("mode", ["L", "P", "I;16", "LA"])
def test_error_non_rgb_png(tiny_json, mode):
    ids_to_png(TINY, tiny_json.with_suffix("") / "a.png", mode=mode)
    with pytest.raises(FormatError, match=f"panoptic PNG must be RGB or RGBA, got mode '{mode}"):
        read_coco_panoptic(tiny_json).load("a.jpg")


def test_error_jpeg_instead_of_png(tiny_json):
    Image.fromarray(id2rgb(TINY)).save(tiny_json.with_suffix("") / "a.png", format="JPEG")
    with pytest.raises(FormatError, match="file must be a PNG, got JPEG"):
        read_coco_panoptic(tiny_json).load("a.jpg")


def test_rgba_png_is_read_as_rgb(tiny_json):
    ids_to_png(TINY, tiny_json.with_suffix("") / "a.png", mode="RGBA")
    np.testing.assert_array_equal(read_coco_panoptic(tiny_json).load("a.jpg").ids, TINY)


@pytest.mark.parametrize("name", ["../a.png", "../../etc/passwd", "sub/../../a.png"])
def test_error_png_path_escapes_with_dotdot(tiny_json, name):
    _edit(tiny_json, lambda d: d["annotations"][0].update(file_name=name))
    with pytest.raises(
        PathEscapeError,
        match=f"image 'a.jpg': file name must stay inside the dataset folder .*, got '{name}'",
    ):
        read_coco_panoptic(tiny_json)


def test_error_png_path_absolute(tiny_json):
    target = str(tiny_json.with_suffix("") / "a.png")  # even one that points at the right file
    _edit(tiny_json, lambda d: d["annotations"][0].update(file_name=target))
    with pytest.raises(PathEscapeError, match="file name must stay inside the dataset folder"):
        read_coco_panoptic(tiny_json)


def test_error_invalid_json(tiny_json):
    tiny_json.write_text('{"images": [], "annotations": [,]}')
    with pytest.raises(
        FormatError,
        match=r"panoptic.json': file must be valid JSON, got an error at "
        r"line 1 column 32: Expecting value",
    ):
        read_coco_panoptic(tiny_json)


def test_error_json_not_an_object(tiny_json):
    tiny_json.write_text("[]")
    with pytest.raises(FormatError, match="COCO panoptic JSON must be an object, got list"):
        read_coco_panoptic(tiny_json)


def test_error_json_missing_field(tiny_json):
    _edit(tiny_json, lambda d: d.pop("categories"))
    with pytest.raises(FormatError, match="COCO panoptic JSON must have a 'categories' field"):
        read_coco_panoptic(tiny_json)


def test_error_missing_json(tmp_path):
    with pytest.raises(FormatError, match=r"nope.json': file must exist, got no such file"):
        read_coco_panoptic(tmp_path / "nope.json")


def test_error_wrong_area(tiny_json):
    _edit(tiny_json, lambda d: d["annotations"][0]["segments_info"][3].update(area=10))
    src = read_coco_panoptic(tiny_json)
    with pytest.raises(
        AnnotationError,
        match=r"image 'a.jpg', segment 7: segment 'area' must equal its pixel count 9, got 10",
    ):
        src.load("a.jpg")
    assert read_coco_panoptic(tiny_json, check_area=False).load("a.jpg").segment(7).area == 10


def test_error_annotation_of_an_unlisted_image(tiny_json):
    _edit(tiny_json, lambda d: d["annotations"][0].update(image_id=99))
    with pytest.raises(
        FormatError,
        match=r"annotations\[0\] image_id must be listed in 'images', "
        "got 99",
    ):
        read_coco_panoptic(tiny_json)


def test_error_segment_id_is_not_an_integer(tiny_json):
    _edit(tiny_json, lambda d: d["annotations"][0]["segments_info"][0].update(id="9"))
    with pytest.raises(FormatError, match=r"segments_info\[0\] field 'id' must be int, got '9'"):
        read_coco_panoptic(tiny_json)


def test_error_load_of_an_unknown_image(tiny_json):
    with pytest.raises(AnnotationError, match=r"image 'b.jpg': image must have an annotation"):
        read_coco_panoptic(tiny_json).load("b.jpg")


def test_errors_are_value_errors(tiny_json):
    tiny_json.write_text("{")
    with pytest.raises(ValueError):
        read_coco_panoptic(tiny_json)


# ----------------------------------------------------------------------------- inputs untouched


def test_reading_and_writing_never_modify_inputs(tmp_path):
    src_dir = tmp_path / "in"
    shutil.copytree(PANOPTICAPI.parent, src_dir)
    before = tree_hashes(src_dir)
    stamps = {p: p.stat().st_mtime_ns for p in src_dir.rglob("*")}
    src = read_coco_panoptic(src_dir / "panoptic_examples.json")
    anns = [src.load(i.file_name) for i in src.images]
    for ann in anns:
        _ = ann.compact, ann.to_frame()
    write_coco_panoptic(anns, src.categories, tmp_path / "out.json")
    assert tree_hashes(src_dir) == before
    assert {p: p.stat().st_mtime_ns for p in src_dir.rglob("*")} == stamps


def test_failed_load_leaves_inputs_untouched(tiny_json):
    _edit(tiny_json, lambda d: d["annotations"][0]["segments_info"][3].update(area=10))
    before = tree_hashes(tiny_json.parent)
    with pytest.raises(AnnotationError):
        read_coco_panoptic(tiny_json).load("a.jpg")
    assert tree_hashes(tiny_json.parent) == before


def test_a_truncated_export_in_a_study_is_reported_as_invalid_json_not_as_unknown(tmp_path):
    from agreement.errors import FormatError
    from agreement.io.study_loader import detect_format

    whole = '{"images": [{"id": 1, "file_name": "x.jpg", "height": 2, "width": 2}], ' \
            '"annotations": [{"image_id": 1, "file_name": "x.png", "segments_info": []}]}'
    truncated = tmp_path / "a.json"
    truncated.write_text(whole[:40])
    with pytest.raises(FormatError, match=r"a\.json'.*must be valid JSON, got an error at line 1"):
        detect_format(truncated)
    unknown = tmp_path / "b.json"
    unknown.write_text('{"hello": 1}')
    with pytest.raises(FormatError, match="must be a known annotation export"):
        detect_format(unknown)


def test_load_turns_an_unforeseen_failure_into_one_line_naming_png_and_image(tmp_path,
                                                                            monkeypatch):
    """CocoPanopticSource.load runs under reader_errors: no traceback of a library's own error."""
    from agreement.errors import UnexpectedInputError
    from agreement.io import coco_panoptic

    path = write_export(tmp_path, {"a.jpg": (TINY, TINY_TABLE)})
    src = read_coco_panoptic(path)

    def broken(*args, **kwargs):
        raise KeyError("something no check foresaw")

    monkeypatch.setattr(coco_panoptic, "compact_ids", broken)
    with pytest.raises(UnexpectedInputError, match=r"a\.png.*image 'a\.jpg'.*panoptic PNG must "
                                                    r"be readable, got KeyError"):
        src.load("a.jpg")
    monkeypatch.undo()
    with pytest.raises(AnnotationError, match=r"at most 5 pixels \(max_pixels"):
        read_coco_panoptic(path, limits=Limits(max_pixels=5))  # the JSON's sizes, before any PNG


def test_inside_reads_a_relative_folder_from_the_current_one(tmp_path, monkeypatch):
    """The dataset folder is resolved once (it is asked for every image), but a relative one
    from the folder the process is in at the time, and a symlink out of it is still refused."""
    from agreement.io._files import inside

    for sub in ("one/data", "two/data"):
        (tmp_path / sub).mkdir(parents=True)
    (tmp_path / "two/data/out.png").symlink_to(tmp_path / "one/x.png")
    for sub in ("one", "two"):
        monkeypatch.chdir(tmp_path / sub)
        assert inside("data", "a.png", file="f.json") == tmp_path / sub / "data" / "a.png"
    with pytest.raises(PathEscapeError, match=r"got 'out\.png'"):
        inside("data", "out.png", file="f.json")
