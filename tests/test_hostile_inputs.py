"""Regression tests for the hostile inputs of issue 16 (and the coercions of issue 17, item 3).

One test per defect the fuzzing campaign found, with a minimal input. Every reader must end in
one of our errors naming the file (and image, segment or shape when there is one), never a
traceback from json, tomllib, XML, Pillow, numpy, SciPy or pycocotools, never a signal, a hang or
a giant allocation.

The cases that used to crash the process or allocate gigabytes run in one child process with a
2 GiB address-space limit (``ISOLATED``), so that a regression fails the test instead of
killing the test run or the machine.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from _hostile import (
    bitmask_result,
    coco_instances,
    cvat_mask,
    labelstudio,
    panoptic,
    png_bytes,
    png_claiming,
    read_all,
    with_segmentation,
    write,
)

from agreement.errors import (
    AgreementError,
    AnnotationError,
    FormatError,
    StudyError,
    UnexpectedInputError,
)
from agreement.io import read_coco_instances, read_coco_panoptic, read_label_maps
from agreement.io._files import read_json, read_toml
from agreement.io.study_file import read_study_file


def refused(fmt: str, path: Path, match: str, error: type[Exception] = AgreementError
            ) -> AgreementError:
    """Reading (and decoding) ``path`` raises ``error`` matching ``match``, naming the file."""
    with pytest.raises(error, match=match) as info:
        read_all(fmt, path)
    assert not isinstance(info.value, UnexpectedInputError), info.value
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)
    return info.value


# -- JSON and TOML: nesting and number lengths ------------------------------------------------

def test_json_nested_thousands_deep(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 50_000 + "]" * 50_000)
    with pytest.raises(FormatError, match=r"deep\.json'.*must nest at most 100 levels"):
        read_json(path)


def test_json_nested_just_under_python_limit_is_refused_by_ours(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 500 + "]" * 500)  # parses, but deeper than max_depth
    with pytest.raises(FormatError, match="must nest at most 100 levels deep"):
        read_json(path)


def test_toml_nested_thousands_deep(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text("a = " + "[" * 50_000 + "]" * 50_000 + "\n")
    with pytest.raises(FormatError, match=r"study\.toml'.*must nest at most 100 levels"):
        read_study_file(path)


@pytest.mark.parametrize("suffix", ["json", "toml"])
def test_integer_of_5000_digits(tmp_path, suffix):
    path = tmp_path / f"x.{suffix}"
    path.write_text(('{"x": %s}' if suffix == "json" else "x = %s\n") % ("9" * 5000))
    reader = read_json if suffix == "json" else read_toml
    with pytest.raises(FormatError, match="numbers must be at most 4300 digits long, got one of "
                                          "5,000 digits at line 1"):
        reader(path)


@pytest.mark.parametrize("text", ["null", "3", '"x"'])
def test_json_document_that_is_a_scalar(tmp_path, text):
    # found by the fuzz suite: the depth check iterated over a scalar document
    path = tmp_path / "export.json"
    path.write_text(text)
    refused("labelstudio", path, "must be a list of tasks", FormatError)


def test_file_beyond_max_file_bytes(tmp_path, monkeypatch):
    path = write(tmp_path, "coco_instances", coco_instances())
    monkeypatch.setenv("AGREEMENT_MAX_FILE_BYTES", "100")
    refused("coco_instances", path, r"JSON file must be at most 100 bytes \(max_file_bytes")


def test_read_bytes_reads_what_the_file_holds(tmp_path, monkeypatch):
    from agreement.errors import FormatError
    from agreement.io._files import read_bytes
    path = tmp_path / "x.json"
    for payload in (b"", b"{}", bytes(range(256)) * 40):
        path.write_bytes(payload)
        assert read_bytes(path) == payload
    monkeypatch.setenv("AGREEMENT_MAX_FILE_BYTES", "100")
    path.write_bytes(b"1" * 100)
    assert read_bytes(path) == b"1" * 100
    path.write_bytes(b"1" * 101)
    with pytest.raises(FormatError, match="at most 100 bytes"):
        read_bytes(path)


# -- categories: no crash, no coercion ---------------------------------------------------------

@pytest.mark.parametrize(("change", "match"), [
    ({"color": "red"}, r"'color' must be \[r, g, b\] integers"),
    ({"color": [1.5, 2, 3]}, r"'color' must be \[r, g, b\] integers"),
    ({"id": "Infinity"}, "'id' must be an integer, got inf"),
    ({"id": 1.5}, "'id' must be an integer, got 1.5"),
    ({"id": "2"}, "'id' must be an integer, got '2'"),
    ({"id": 2**40}, r"'id' must be in \[0, 2147483647\]"),
    ({"name": ["x"]}, "'name' must be a string"),
    ({"supercategory": {"a": 1}}, "'supercategory' must be a string"),
], ids=["color-text", "color-float", "id-infinity", "id-float", "id-string", "id-huge",
        "name-list", "supercategory-dict"])
def test_panoptic_category_fields(tmp_path, change, match):
    path = panoptic(tmp_path)
    doc = json.loads(path.read_text())
    doc["categories"][0].update(change)
    text = json.dumps(doc).replace('"Infinity"', "Infinity")
    path.write_text(text)
    refused("coco_panoptic", path, match, AnnotationError)


@pytest.mark.parametrize(("value", "got"), [(1.5, "1.5"), ("2", "'2'"), (True, "True")],
                         ids=["float", "string", "bool"])
def test_instances_category_id_not_coerced(tmp_path, value, got):
    doc = coco_instances()
    doc["categories"][0]["id"] = value
    refused("coco_instances", write(tmp_path, "coco_instances", doc),
            rf"categories\[0\] field 'id' must be int, got {got}", FormatError)


@pytest.mark.parametrize(("key", "value"), [("iscrowd", "1"), ("iscrowd", 2), ("iscrowd", 0.0)])
def test_instances_flags_not_coerced(tmp_path, key, value):
    doc = coco_instances()
    doc["annotations"][0][key] = value
    refused("coco_instances", write(tmp_path, "coco_instances", doc),
            rf"'{key}' must be 0 or 1, got", FormatError)


def test_instances_image_size_not_coerced(tmp_path):
    doc = coco_instances()
    doc["images"][0]["width"] = 10.0
    refused("coco_instances", write(tmp_path, "coco_instances", doc),
            r"images\[0\] field 'width' must be int, got 10\.0", FormatError)


# -- COCO RLE ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("seg", "match"), [
    ({"size": [10, 10], "counts": [2**70, 100]}, r"got 1180591620717411303524 px \(longer\)"),
    ({"size": [10, 10], "counts": [2**63, 2**63 + 100]}, r"exactly \(100 px\), got "
                                                         r"18446744073709551716 px"),
    ({"size": [10, 10], "counts": "o" * 40 + "0"}, "runs must take at most 12 characters"),
    ({"size": [10, 10], "counts": "\u0000"}, "must use the characters '0' to 'o'"),
    ({"size": 10, "counts": [100]}, r"RLE size must be \[height, width\] integers, got 10"),
    ({"size": [10.0, 10], "counts": [100]}, r"RLE size must be \[height, width\] integers"),
    ({"size": [10, 10], "counts": [[50], [50]]}, r"RLE counts must be integers >= 0, got \[50\]"),
    ({"size": [10, 10], "counts": [50.0, 50]}, r"RLE counts must be integers >= 0, got 50\.0"),
    ({"size": [10, 10], "counts": [True, 99]}, "RLE counts must be integers >= 0, got True"),
    ({"size": [10, 10], "counts": 10**9}, "RLE counts must be a list of integers or a "
                                          "compressed string, got int"),
    ({"size": [10, 10], "counts": [1] * 102}, "RLE must have at most 101 runs"),
], ids=["beyond-int64", "int64-wrap-to-total", "string-overflow", "string-nul", "size-int",
        "size-float", "counts-nested", "counts-float", "counts-bool", "counts-int",
        "too-many-runs"])
def test_coco_rle(tmp_path, seg, match):
    refused("coco_instances", write(tmp_path, "coco_instances", with_segmentation(seg)), match)


def test_compressed_rle_whose_int64_sum_would_wrap(tmp_path):
    # two runs of 2**59 - 50 and a negative delta: the int64 sum is not what decides
    from pycocotools import mask
    m = np.zeros((10, 10), np.uint8)
    m[:, 5:] = 1
    good = mask.encode(np.asfortranarray(m))["counts"].decode()
    refused("coco_instances", write(tmp_path, "coco_instances", with_segmentation(
        {"size": [10, 10], "counts": good + "00"})), "RLE runs must cover")


def test_valid_rles_decode_as_pycocotools_does(tmp_path):
    assert read_all("coco_instances", write(tmp_path, "coco_instances", coco_instances())) == 100
    from pycocotools import mask

    from agreement.io._cocorle import coco_decode
    src = read_coco_instances(tmp_path / "export.json")
    ann = src.load("a.png")
    segs = {a["id"]: a["segmentation"] for a in coco_instances()["annotations"]}
    rles = {k: dict(v, counts=v["counts"].encode()) if isinstance(v, dict) and isinstance(
        v["counts"], str) else mask.frPyObjects(v, 10, 10) for k, v in segs.items()}
    masks = {k: coco_decode(mask.merge(r) if isinstance(r, list) else r) for k, r in rles.items()}
    # things over stuff, then file order: the polygon (1), the compressed RLE (3) on top
    expected = {3: masks[3], 1: masks[1] & ~masks[3], 2: masks[2] & ~masks[1] & ~masks[3]}
    for seg in ann.segments:
        np.testing.assert_array_equal(ann.ids == seg.id, expected[seg.id])


# -- polygons ----------------------------------------------------------------------------------

def circle(n: int, r: float = 4.0, c: float = 5.0) -> list[float]:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.column_stack([c + r * np.cos(t), c + r * np.sin(t)]).ravel().tolist()


def test_polygon_of_100000_points_is_read_quickly_and_exactly(tmp_path):
    # was an O(n^2) self-intersection test: ~8 minutes
    path = write(tmp_path, "coco_instances", with_segmentation([circle(100_000)]))
    src = read_coco_instances(path)
    assert not src.findings
    assert src.load("a.png").segments[0].area == 52  # pycocotools' raster of the r=4 disc


def test_polygon_beyond_max_vertices(tmp_path):
    path = write(tmp_path, "coco_instances", with_segmentation([circle(100_001)]))
    refused("coco_instances", path, r"polygon must have at most 100,000 vertices \(max_vertices")


def test_polygon_too_entangled_to_test_is_kept_with_a_finding(tmp_path):
    t = np.linspace(0, 2 * np.pi, 60_000, endpoint=False)  # 30,000 needles from the centre
    r = np.where(np.arange(t.size) % 2, 4.0, 0.01)
    sun = np.column_stack([5 + r * np.cos(t), 5 + r * np.sin(t)]).ravel().tolist()
    src = read_coco_instances(write(tmp_path, "coco_instances", with_segmentation([sun])))
    assert [f.detail for f in src.findings] == [
        "outline too entangled to test for self-intersection (kept; pycocotools fills it "
        "even-odd)"]


def test_polygon_outline_beyond_max_outline(tmp_path):
    zigzag = [v for k in range(200) for v in ((0, k / 20) if k % 2 else (9999, k / 20))]
    path = write(tmp_path, "coco_instances", with_segmentation([zigzag], width=10_000))
    refused("coco_instances", path, r"polygon outline must be at most 1,000,000 px long")


@pytest.mark.parametrize("coords", [[1, 1, "8", 1, 8, 8], [1, 1, True, 1, 8, 8],
                                    [1, 1, None, 1, 8, 8]], ids=["text", "bool", "null"])
def test_polygon_coordinates_not_coerced(tmp_path, coords):
    refused("coco_instances", write(tmp_path, "coco_instances", with_segmentation([coords])),
            "polygon coordinates must be numbers", AnnotationError)


def test_polygon_far_outside_is_clipped_to_the_same_pixels(tmp_path):
    inside = read_coco_instances(write(tmp_path / "a", "coco_instances", with_segmentation(
        [[0, 0, 10, 0, 10, 10, 0, 10]]))).load("a.png")
    far = read_coco_instances(write(tmp_path / "b", "coco_instances", with_segmentation(
        [[-1e12, -1e12, 1e12, -1e12, 1e12, 1e12, -1e12, 1e12]]))).load("a.png")
    np.testing.assert_array_equal(inside.ids > 0, far.ids > 0)
    assert far.segments[0].area == 100


# -- CVAT --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("doc", "match"), [
    (cvat_mask(declaration='<?xml version="1.0" encoding="foo-bar"?>'),
     "XML must be in a known encoding, got unknown encoding: foo-bar"),
    (cvat_mask("1,2," + "9" * 20), "mask rle must be comma-separated integers >= 0, got "
                                   "'99999999999999999999'"),
    (cvat_mask("1,+15"), "mask rle must be comma-separated integers >= 0, got '[+]15'"),
    (cvat_mask(width="\u0662"), "<mask> attribute 'width' must be an integer"),
    (cvat_mask(width="1_6", height=1), "<mask> attribute 'width' must be an integer"),
    (cvat_mask(f"0,{60_000 * 50_000}", width=60_000, height=50_000),
     "mask box must be at most 100,000 pixels a side|mask box must be at most 134,217,728"),
    (cvat_mask(",".join(["1"] * 20)), r"mask rle must have at most 17 runs"),
    (cvat_mask(points="1,1;8,1;8,x"), "polygon points must be 'x,y;x,y;...' numbers"),
], ids=["unknown-encoding", "run-of-20-digits", "run-with-plus", "unicode-digit",
        "underscore-digits", "9-GiB-box", "too-many-runs", "polygon-text"])
def test_cvat(tmp_path, doc, match):
    refused("cvat", write(tmp_path, "cvat", doc), match)


def test_cvat_mask_whose_runs_would_wrap_int64(tmp_path):
    refused("cvat", write(tmp_path, "cvat", cvat_mask(f"{2**63},{2**63 + 16}")),
            "mask rle must be comma-separated integers")


# -- Label Studio ------------------------------------------------------------------------------

def ls_with(tmp_path, change):
    doc = labelstudio()
    change(doc[0])
    return write(tmp_path, "labelstudio", doc)


@pytest.mark.parametrize(("width", "match"), [
    (0, "result original_width must be >= 1, got 0"),
    (10.7, "result original_width must be an integer, got 10.7"),
    ("10", "result original_width must be an integer, got '10'"),
    (float("inf"), "result original_width must be an integer, got inf"),
    (100_000, "image size must be at most 134,217,728 pixels"),
], ids=["zero", "float", "string", "infinity", "huge"])
def test_labelstudio_original_width(tmp_path, width, match):
    doc = labelstudio(width=width, height=100_000 if width == 100_000 else 10)
    refused("labelstudio", write(tmp_path, "labelstudio", doc), match, AnnotationError)


@pytest.mark.parametrize(("change", "match"), [
    (lambda t: t["annotations"][0]["result"][0].update(id=["x"]),
     r"result 'id' must be a string or an integer, got \['x'\]"),
    (lambda t: t["annotations"][0].update(completed_by={"id": [1], "email": "a@b"}),
     r"completed_by 'id' must be an integer or a string, got \[1\]"),
    (lambda t: t.update(annotations={"a": 1}), "task 0 'annotations' must be a list"),
    (lambda t: t["annotations"][0].update(result={"a": 1}),
     "task 0 annotation 'result' must be a list"),
    (lambda t: t["annotations"][0]["result"][0].update(type=["polygonlabels"]),
     "result 'type' must be a string"),
    (lambda t: t["data"].update(image="http://[::1/a.png"),
     "task 0 image must be a URL or a path, got 'http://\\[::1/a.png' \\(Invalid IPv6 URL\\)"),
    (lambda t: t.update(id=[1]), r"task 0 'id' must be an integer, got \[1\]"),
    (lambda t: t["annotations"][0].update(was_cancelled="false"),
     "'was_cancelled' must be true or false"),
    (lambda t: t["annotations"][0]["result"][0]["value"].update(points=[[10, "10"]] * 3),
     r"polygon points must be \[x%, y%\] number pairs"),
], ids=["region-id-list", "completed-by-id-list", "annotations-not-list", "result-not-list",
        "type-not-string", "ipv6-url", "task-id-list", "was-cancelled-text", "points-text"])
def test_labelstudio_fields(tmp_path, change, match):
    refused("labelstudio", ls_with(tmp_path, change), match)


def test_labelstudio_mixed_annotation_id_types_keep_the_latest(tmp_path):
    doc = labelstudio()
    first = doc[0]["annotations"][0]
    doc[0]["annotations"].append(dict(first, id="x", updated_at="2030-01-01"))
    from agreement.io import read_labelstudio_sources
    src = read_labelstudio_sources(write(tmp_path, "labelstudio", doc))["user-1"]
    assert "kept the latest (id x)" in src.findings[0].detail


def test_labelstudio_truncated_bitmask_png(tmp_path):
    png = png_bytes(np.zeros((10, 10, 4), np.uint8), "RGBA")
    path = write(tmp_path, "labelstudio", labelstudio([bitmask_result(png[:-30])]))
    refused("labelstudio", path, "bitmask PNG must be complete and readable, got image file is "
                                 "truncated", FormatError)


def test_labelstudio_bitmask_claiming_a_huge_size(tmp_path):
    path = write(tmp_path, "labelstudio", labelstudio([bitmask_result(png_claiming(
        100_000, 100_000, color_type=6))]))
    refused("labelstudio", path, "bitmask PNG size must be at most 134,217,728 pixels")


@pytest.mark.parametrize("rle", [[0, 0, 0, 4, 57, 27, 252, 127, 224.0],
                                 [0, 0, 0, 4, 57, 27, 252, 127, True], "0004"],
                         ids=["float-byte", "bool-byte", "string"])
def test_labelstudio_brush_bytes_not_coerced(tmp_path, rle):
    brush = {"id": "b", "type": "brushlabels", "original_width": 1, "original_height": 1,
             "value": {"format": "rle", "rle": rle, "brushlabels": ["car"]}}
    refused("labelstudio", write(tmp_path, "labelstudio", labelstudio([brush])),
            "brush .*must (be|have)")


# -- label maps, .npy, BSDS --------------------------------------------------------------------

@pytest.mark.parametrize("side", [100_000, 20_000])
def test_label_map_png_declaring_a_huge_size(tmp_path, side):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.png").write_bytes(png_claiming(side, side))
    with pytest.raises(AnnotationError, match=f"label-map PNG size must be at most 134,217,728 "
                                              f"pixels .*, got {side}x{side}"):
        read_label_maps(tmp_path / "a")


@pytest.mark.parametrize(("content", "match"), [
    (b"", "file must be a NumPy .npy array"),
    (None, "label map must have at least one pixel"),
], ids=["zero-bytes", "zero-pixels"])
def test_empty_npy(tmp_path, content, match):
    (tmp_path / "a").mkdir()
    if content is None:
        np.save(tmp_path / "a" / "x.npy", np.zeros((0, 5), np.int32))
    else:
        (tmp_path / "a" / "x.npy").write_bytes(content)
    with pytest.raises(AgreementError, match=match):
        read_label_maps(tmp_path / "a")


def test_npy_declaring_a_huge_shape(tmp_path):
    (tmp_path / "a").mkdir()
    path = tmp_path / "a" / "x.npy"
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": "<i4", "fortran_order": False,
                                                   "shape": (100_000, 100_000)})
    with pytest.raises(AnnotationError, match="label map size must be at most"):
        read_label_maps(tmp_path / "a")


@pytest.mark.parametrize("header", [b"{'descr': '<i4', 'shape': (4, ", b"{'descr': '<i4',\x00}"],
                         ids=["unclosed", "null-byte"])
def test_npy_with_a_broken_header(tmp_path, header):
    # found by the fuzz suite: numpy parses the header as a Python literal (TokenError,
    # SyntaxError escaped)
    (tmp_path / "a").mkdir()
    text = header.ljust(118) + b"\n"
    (tmp_path / "a" / "x.npy").write_bytes(b"\x93NUMPY\x01\x00" + bytes([len(text), 0]) + text)
    with pytest.raises(FormatError, match=r"must be a NumPy \.npy array, got a broken header"):
        read_label_maps(tmp_path / "a")


def bsds_file(path: Path, shape: tuple[int, int] = (4, 5)) -> None:
    gt = np.empty((1, 2), dtype=object)
    for k in range(2):
        gt[0, k] = {"Segmentation": np.arange(shape[0] * shape[1], dtype=np.uint16).reshape(
                        shape) % 3 + 1, "Boundaries": np.zeros(shape, np.uint8)}
    scipy.io.savemat(path, {"groundTruth": gt}, do_compression=True)


@pytest.mark.parametrize("keep", [0.2, 0.5, 0.9])
def test_truncated_bsds_mat(tmp_path, keep):
    bsds_file(tmp_path / "1.mat")
    raw = (tmp_path / "1.mat").read_bytes()
    (tmp_path / "1.mat").write_bytes(raw[: int(len(raw) * keep)])
    refused("bsds", tmp_path, "file must be a MATLAB .mat file|must hold a non-empty")


def test_bsds_mat_with_a_broken_compressed_element(tmp_path):
    # found by the fuzz suite: the size check's own zlib stream failed (zlib.error escaped)
    bsds_file(tmp_path / "1.mat")
    raw = bytearray((tmp_path / "1.mat").read_bytes())
    raw[136:138] = b"\x00\x00"  # the zlib header of the first compressed element
    (tmp_path / "1.mat").write_bytes(bytes(raw))
    refused("bsds", tmp_path, "file must be a MATLAB .mat file", FormatError)


def test_bsds_mat_whose_content_inflates_beyond_the_limit(tmp_path, monkeypatch):
    bsds_file(tmp_path / "1.mat", (200, 300))  # ~300 KB of content in a few KB
    size = (tmp_path / "1.mat").stat().st_size
    monkeypatch.setenv("AGREEMENT_MAX_FILE_BYTES", str(size + 1000))
    refused("bsds", tmp_path, rf"\.mat file content must be at most {size + 1000:,} bytes once "
                              "decompressed")


# -- COCO panoptic JSON side -------------------------------------------------------------------

def test_panoptic_json_declaring_20000_square_image(tmp_path):
    path = panoptic(tmp_path)
    doc = json.loads(path.read_text())
    doc["images"][0].update(width=20_000, height=20_000)
    path.write_text(json.dumps(doc))
    with pytest.raises(AnnotationError, match="image size must be at most 134,217,728 pixels"):
        read_coco_panoptic(path)


def test_panoptic_segment_id_zero_is_void_with_a_finding(tmp_path):
    path = panoptic(tmp_path)
    doc = json.loads(path.read_text())
    segs = doc["annotations"][0]["segments_info"]
    src = read_coco_panoptic(path)
    ann = src.load(src.images[0].file_name)
    void = ann.void_pixels
    segs.append({"id": 0, "category_id": segs[0]["category_id"], "area": void, "iscrowd": 0})
    path.write_text(json.dumps(doc))
    src = read_coco_panoptic(path)
    assert [f.kind for f in src.findings] == ["void_segment"]
    assert f"area {void}); id 0 is void" in src.findings[0].detail
    again = src.load(src.images[0].file_name)
    assert [s.id for s in again.segments] == [s.id for s in ann.segments]
    np.testing.assert_array_equal(again.ids, ann.ids)


def test_panoptic_segment_id_zero_whose_area_is_not_the_void(tmp_path):
    path = panoptic(tmp_path)
    doc = json.loads(path.read_text())
    doc["annotations"][0]["segments_info"].append({"id": 0, "category_id": 1, "area": 7})
    path.write_text(json.dumps(doc))
    src = read_coco_panoptic(path)
    with pytest.raises(AnnotationError, match=r"segment 0: segment 'area' must equal its pixel "
                                              r"count \d+ \(id 0: the PNG's void pixels\), got 7"):
        src.load(src.images[0].file_name)


def test_panoptic_segment_id_zero_twice(tmp_path):
    path = panoptic(tmp_path)
    doc = json.loads(path.read_text())
    doc["annotations"][0]["segments_info"] += [{"id": 0, "category_id": 1}] * 2
    path.write_text(json.dumps(doc))
    with pytest.raises(AnnotationError, match="segment 0: segment ids must be unique"):
        read_coco_panoptic(path)


# -- the cases that used to kill the process or allocate gigabytes ----------------------------

ISOLATED = {
    # a vertex at 1e9: SIGSEGV inside pycocotools
    "polygon-vertex-1e9": ("coco_instances", with_segmentation([[1, 1, 1e9, 1, 8, 8]])),
    # a polygon with a vertex at 1e7 cost 1.6 GB in pycocotools
    "polygon-vertex-1e7": ("coco_instances", with_segmentation([[1, 1, 1e7, 1, 8, 8]])),
    # declared sizes turned into canvases: 37 GiB
    "coco-100000-px-image": ("coco_instances", coco_instances(images=[
        {"id": 1, "file_name": "a.png", "height": 100_000, "width": 100_000}])),
    "cvat-100000-px-image": ("cvat", cvat_mask(image=(100_000, 100_000))),
    "cvat-9-GiB-mask-box": ("cvat", cvat_mask(f"0,{60_000 * 50_000}", width=60_000,
                                              height=50_000)),
    "labelstudio-100000-px-image": ("labelstudio", labelstudio(width=100_000, height=100_000)),
    # an integer RLE counts made pycocotools build a string of that many bytes
    "rle-counts-integer": ("coco_instances", with_segmentation({"size": [10, 10],
                                                               "counts": 10**9})),
}

_CHILD = textwrap.dedent("""
    import json, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    sys.path.insert(0, {tests!r})
    from pathlib import Path
    from _hostile import read_all
    from agreement.errors import AgreementError, UnexpectedInputError
    for name, fmt, path in json.loads(sys.argv[1]):
        print("START", name, flush=True)
        try:
            read_all(fmt, Path(path))
            out = {{"outcome": "accepted"}}
        except AgreementError as exc:
            out = {{"outcome": "unexpected" if isinstance(exc, UnexpectedInputError) else "ours",
                   "message": str(exc)}}
        except BaseException as exc:
            out = {{"outcome": "crash", "message": f"{{type(exc).__name__}}: {{exc}}"}}
        print("RESULT", json.dumps([name, out]), flush=True)
""")


@pytest.fixture(scope="module")
def isolated(tmp_path_factory) -> dict[str, dict]:
    """Run every ISOLATED case in one child process limited to 2 GiB; their outcomes."""
    tmp = tmp_path_factory.mktemp("isolated")
    jobs = [(name, fmt, str(write(tmp / name, fmt, doc))) for name, (fmt, doc) in
            ISOLATED.items()]
    code = _CHILD.format(tests=str(Path(__file__).parent))
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(jobs)], capture_output=True,
                          text=True, timeout=300)
    results = {}
    last = None
    for line in proc.stdout.splitlines():
        if line.startswith("START "):
            last = line.split(" ", 1)[1]
        elif line.startswith("RESULT "):
            name, out = json.loads(line.split(" ", 1)[1])
            results[name] = out
    if proc.returncode != 0 and last is not None and last not in results:
        results[last] = {"outcome": f"child died (exit {proc.returncode})",
                         "message": proc.stderr[-500:]}
    return results


@pytest.mark.parametrize(("name", "match"), [
    ("polygon-vertex-1e9", None),
    ("polygon-vertex-1e7", None),
    ("coco-100000-px-image", "image size must be at most 100,000 pixels a side|at most "
                             "134,217,728 pixels"),
    ("cvat-100000-px-image", "image size must be at most"),
    ("cvat-9-GiB-mask-box", "mask box must be at most"),
    ("labelstudio-100000-px-image", "image size must be at most 134,217,728 pixels"),
    ("rle-counts-integer", "RLE counts must be a list of integers or a compressed string"),
])
def test_no_signal_no_giant_allocation(isolated, name, match):
    out = isolated.get(name, {"outcome": "not run (an earlier case killed the child)"})
    if match is None:  # clipped to the image: read like any polygon
        assert out["outcome"] == "accepted", out
    else:
        assert out["outcome"] == "ours", out
        assert re.search(match, out["message"]), out["message"]


# -- degenerate but valid: nothing comparable ---------------------------------------------------

def test_evaluate_a_study_with_no_category(tmp_path):
    # a real Label Studio export of boxes only: two annotators, no area label at all
    from agreement.io import load_study
    from agreement.study import evaluate
    fixture = Path(__file__).parent / "data/fixtures/label_studio/sdk_tests/test_export_yolo"
    study = load_study(fixture / "data.json")
    assert len(study.categories) == 0
    # one clear refusal before any work, never a pandas traceback
    with pytest.raises(StudyError, match="nothing to compare: the exports hold no category with "
                       "an area"):
        evaluate(study, boundary=False)
