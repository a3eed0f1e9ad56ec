"""CVAT XML and Label Studio JSON writers: exact encodings (cvat-sdk oracle, Label Studio's own
brush bytes), round trips through our readers on random panoptic maps, refusals."""

import json
from pathlib import Path

import numpy as np
import pytest
from _lsenc import encode_mask as reference_brush
from _lsenc import encode_words as reference_words
from defusedxml import ElementTree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from agreement.errors import AnnotationError
from agreement.io._lsrle import decode_brush, decode_rle_words
from agreement.io._lsrle_encode import encode_brush, encode_rle_words
from agreement.io.cvat import read_cvat, read_cvat_sources
from agreement.io.cvat_write import cvat_labels, cvat_mask_rle, write_cvat
from agreement.io.labelstudio import read_labelstudio, read_labelstudio_sources
from agreement.io.labelstudio_write import labeling_config, write_labelstudio
from agreement.model import Categories, Category, PanopticAnnotation

cvat_masks = pytest.importorskip("cvat_sdk.masks")
FIX = Path(__file__).parent / "data" / "fixtures"

TMP_OK = [HealthCheck.function_scoped_fixture]  # each example overwrites the same files
CATS = Categories([Category(1, "car", True, (0, 0, 142)), Category(2, "person", True),
                   Category(7, "road", False, (128, 64, 128)), Category(9, "sky", False)])


def assert_same_panoptic(a: PanopticAnnotation, b: PanopticAnnotation) -> None:
    """Equal pixel for pixel up to segment renumbering: same void, a one-to-one id map, same
    category per segment."""
    assert a.shape == b.shape
    np.testing.assert_array_equal(a.ids == 0, b.ids == 0)
    pairs = np.unique(np.stack([a.ids.ravel(), b.ids.ravel()], 1)[a.ids.ravel() > 0], axis=0)
    assert len(set(pairs[:, 0].tolist())) == len(pairs) == len(set(pairs[:, 1].tolist()))
    for x, y in pairs.tolist():
        assert a.segment(x).category_id == b.segment(y).category_id
    assert len(a.segments) == len(b.segments) == len(pairs)


@st.composite
def panoptic_maps(draw, max_side=12):
    """A random small panoptic annotation: things (any number of instances), at most one
    segment per stuff class (the panoptic convention), void."""
    h = draw(st.integers(1, max_side))
    w = draw(st.integers(1, max_side))
    labels = draw(arrays(np.int32, (h, w), elements=st.integers(0, 6)))
    # 0 void, 1-3 car instances, 4 person instance, 5 road, 6 sky
    ids = np.where(labels == 0, 0, labels * 10 + 1).astype(np.int32)
    table = {11: 1, 21: 1, 31: 1, 41: 2, 51: 7, 61: 9}
    present = {int(i): table[int(i)] for i in np.unique(ids) if i}
    name = draw(st.sampled_from(["a.jpg", "frame 0001.png", "x#1 100%?.jpeg", "été.png"]))
    return PanopticAnnotation.from_map(ids, present, file_name=name)


# ---------------------------------------------------------------- CVAT mask RLE vs cvat-sdk


@given(arrays(bool, st.tuples(st.integers(1, 9), st.integers(1, 9))))
@settings(max_examples=200, deadline=None)
def test_cvat_mask_rle_equals_cvat_sdk_encode_mask(mask):
    ys, xs = np.nonzero(mask)
    if not ys.size:
        return
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    theirs = cvat_masks.encode_mask(mask)  # runs + [x1, y1, x2, y2] of the tight box
    assert [*cvat_mask_rle(mask[y0:y1, x0:x1]), x0, y0, x1 - 1, y1 - 1] == theirs


def test_cvat_mask_rle_hand_values():
    assert cvat_mask_rle([[0, 0, 0, 1]]) == [3, 1]
    assert cvat_mask_rle([[1, 1], [0, 0]]) == [0, 2, 2]
    assert cvat_mask_rle([[1, 0], [0, 1]]) == [0, 1, 2, 1]


def test_written_cvat_masks_decode_with_cvat_sdk(tmp_path):
    ids = np.array([[7, 7, 7, 0, 0],
                    [7, 3, 3, 0, 4],
                    [9, 3, 7, 4, 4]])
    ann = PanopticAnnotation.from_map(ids, {3: 1, 4: 2, 7: 7, 9: 9}, file_name="a.jpg")
    path = write_cvat([ann], CATS, tmp_path / "annotations.xml")
    image = ElementTree.parse(path).getroot().find("image")
    assert image.attrib == {"id": "0", "name": "a.jpg", "width": "5", "height": "3"}
    got = {}
    for el in image.iterfind("mask"):
        left, top = int(el.get("left")), int(el.get("top"))
        w, h = int(el.get("width")), int(el.get("height"))
        # parsed as CVAT's importer (load_anno) does: int() of each comma-separated part
        points = [*map(int, el.get("rle").split(",")), left, top, left + w - 1, top + h - 1]
        got[el.get("label")] = cvat_masks.decode_mask(points, image_width=5, image_height=3)
        assert (el.get("source"), el.get("occluded"), el.get("z_order")) == ("file", "0", "0")
    assert sorted(got) == ["car", "person", "road", "sky"]
    np.testing.assert_array_equal(got["road"], ids == 7)  # one region, disconnected pixels
    np.testing.assert_array_equal(got["car"], ids == 3)
    np.testing.assert_array_equal(got["person"], ids == 4)
    np.testing.assert_array_equal(got["sky"], ids == 9)


def test_cvat_document_shape_follows_cvat_exporter(tmp_path):
    ann = PanopticAnnotation.from_map([[3]], {3: 1}, file_name="a.jpg")
    text = write_cvat([ann], CATS, tmp_path / "a.xml", task_name="consensus").read_text()
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n'
                           "  <version>1.1</version>\n  <meta>\n    <task>\n")
    assert ('    <mask label="car" source="file" occluded="0" rle="0, 1" left="0" top="0" '
            'width="1" height="1" z_order="0"></mask>') in text
    meta = ElementTree.fromstring(text).find("meta/task")
    assert [el.findtext("name") for el in meta.iterfind("labels/label")] == [
        "car", "person", "road", "sky"]
    assert meta.findtext("labels/label/color") == "#00008e"
    assert (meta.findtext("size"), meta.findtext("stop_frame"), meta.find("id")) == ("1", "0",
                                                                                    None)
    assert cvat_labels(CATS)[2] == {"name": "road", "color": "#804080", "type": "any",
                                    "attributes": []}


# ---------------------------------------------------------------- round trips


@given(st.lists(panoptic_maps(), min_size=1, max_size=3, unique_by=lambda a: a.image.file_name))
@settings(max_examples=60, deadline=None, suppress_health_check=TMP_OK)
def test_cvat_round_trip_random_maps(tmp_path, anns):
    path = write_cvat(anns, CATS, tmp_path / "rt.xml")
    src = read_cvat(path, categories=CATS)
    assert [i.file_name for i in src.images] == [a.image.file_name for a in anns]
    assert src.findings == []
    for ann in anns:
        back, findings = src.load_with_findings(ann.image.file_name)
        assert findings == []  # no overlap, no empty shape
        assert_same_panoptic(ann, back)


@given(st.lists(panoptic_maps(), min_size=1, max_size=3, unique_by=lambda a: a.image.file_name))
@settings(max_examples=60, deadline=None, suppress_health_check=TMP_OK)
def test_labelstudio_round_trip_random_maps(tmp_path, anns):
    path = write_labelstudio(anns, CATS, tmp_path / "rt.json")
    src = read_labelstudio(path, categories=CATS)
    labelled = [a for a in anns if a.segments]
    assert [i.file_name for i in src.images] == [a.image.file_name for a in labelled]
    for ann in labelled:
        back, findings = src.load_with_findings(ann.image.file_name)
        assert findings == []
        assert_same_panoptic(ann, back)
    # an all-void image has an empty annotation, which no Label Studio export can size
    skipped = len(anns) - len(labelled)
    kinds = src.findings_frame()["kind"].tolist()
    assert kinds == (["skipped_shape"] if skipped else [])


def test_labelstudio_predictions_read_back_with_include_predictions(tmp_path):
    ann = PanopticAnnotation.from_map([[3, 0], [7, 7]], {3: 1, 7: 7}, file_name="a.jpg")
    path = write_labelstudio([ann], CATS, tmp_path / "p.json", as_predictions=True,
                             model_version="consensus-v1")
    task = json.loads(path.read_text())[0]
    assert (list(task), task["annotations"]) == (["data", "annotations", "predictions"], [])
    assert task["predictions"][0]["model_version"] == "consensus-v1"
    sources = read_labelstudio_sources(path, categories=CATS, include_predictions=True)
    assert list(sources) == ["prediction-consensus-v1"]
    assert_same_panoptic(ann, sources["prediction-consensus-v1"].load("a.jpg"))


def test_cvat_round_trip_of_the_cvat_docs_example(tmp_path):
    src = read_cvat(FIX / "cvat" / "cvat_docs_example" / "annotations_image_mode_example.xml")
    ann = src.load("filename000.jpg")
    path = write_cvat([ann], src.categories, tmp_path / "again.xml")
    back = read_cvat(path)
    assert back.categories == src.categories  # labels from the written meta, same order
    assert_same_panoptic(ann, back.load("filename000.jpg"))
    ref = back.images[0].tool_ref
    assert (ref.image, ref.frame) == ("filename000.jpg", 0)


def test_labelstudio_round_trip_of_real_brushes(tmp_path):
    (src,) = read_labelstudio_sources(
        FIX / "label_studio" / "brush_ml_backend" / "test_brush_labels.json").values()
    ann = src.load("task-0")
    path = write_labelstudio([ann], src.categories, tmp_path / "again.json")
    (back,) = read_labelstudio_sources(path, categories=src.categories).values()
    assert_same_panoptic(ann, back.load("task-0"))


# ---------------------------------------------------------------- Label Studio brush RLE


@given(st.lists(st.tuples(st.integers(0, 255), st.integers(1, 300)), max_size=40))
@settings(max_examples=200, deadline=None)
def test_brush_rle_encode_decode_round_trip(runs):
    words = np.repeat([v for v, _ in runs], [n for _, n in runs]).astype(np.uint8)
    encoded = encode_rle_words(words)
    assert all(0 <= b <= 255 for b in encoded)
    np.testing.assert_array_equal(decode_rle_words(encoded), words)
    np.testing.assert_array_equal(decode_rle_words(reference_words(words)), words)


def test_brush_rle_splits_runs_longer_than_2_16_words():
    words = np.concatenate([np.full(200_000, 255, np.uint8), [7], np.zeros(65_536, np.uint8)])
    np.testing.assert_array_equal(decode_rle_words(encode_rle_words(words)), words)


def test_brush_rle_hand_values():
    # one RGBA pixel of 255: header (4 words, word size 8, sizes 3/4/8/16) and one run of 4
    assert encode_rle_words([255] * 4) == [0, 0, 0, 4, 57, 27, 252, 127, 224]
    assert encode_rle_words([]) == [0, 0, 0, 0, 57, 27, 248]


@given(arrays(bool, st.tuples(st.integers(1, 10), st.integers(1, 10))),
       st.integers(0, 3), st.integers(0, 3), st.integers(0, 3), st.integers(0, 3))
@settings(max_examples=200, deadline=None)
def test_encode_brush_places_a_crop_on_the_image(crop, top, left, below, right):
    h, w = crop.shape
    height, width = top + h + below, left + w + right
    full = np.zeros((height, width), bool)
    full[top : top + h, left : left + w] = crop
    rle = encode_brush(crop, top=top, left=left, height=height, width=width)
    assert rle == encode_brush(full)  # canonical: the same bytes from the crop or the image
    np.testing.assert_array_equal(decode_brush(rle, width, height), full)
    np.testing.assert_array_equal(decode_brush(reference_brush(full), width, height), full)


def test_encode_brush_reproduces_label_studio_sdk_bytes():
    # The ml-backend fixture's brushes were written by Label Studio's SDK (mask2rle): decoding
    # and encoding them again gives the very same bytes.
    tasks = json.loads((FIX / "label_studio" / "brush_ml_backend" /
                        "test_brush_labels.json").read_text())
    for result in tasks[0]["result"]:
        w, h = result["original_width"], result["original_height"]
        rle = result["value"]["rle"]
        assert encode_brush(decode_brush(rle, w, h)) == rle


def test_labelstudio_local_files_urls_read_back_to_the_image_name(tmp_path):
    ann = PanopticAnnotation.from_map([[7, 3], [7, 9]], {3: 1, 7: 7, 9: 9},
                                      file_name="street 1.jpg")
    path = write_labelstudio([ann], CATS, tmp_path / "t.json",
                             image_url="/data/local-files/?d=batch/images/")
    (task,) = json.loads(path.read_text())
    assert task["data"] == {"image": "/data/local-files/?d=batch/images/street%201.jpg"}
    src = read_labelstudio(path, categories=CATS)
    assert [i.file_name for i in src.images] == ["street 1.jpg"]
    assert src.images[0].tool_ref.image == task["data"]["image"]
    assert_same_panoptic(ann, src.load("street 1.jpg"))


def test_labelstudio_task_shape(tmp_path):
    ids = np.array([[7, 3], [7, 9]])
    ann = PanopticAnnotation.from_map(ids, {3: 1, 7: 7, 9: 9}, file_name="a.jpg")
    path = write_labelstudio([ann], CATS, tmp_path / "t.json", image_url="/data/local/")
    (task,) = json.loads(path.read_text())
    assert task["data"] == {"image": "/data/local/a.jpg"}
    (annotation,) = task["annotations"]
    assert [(r["id"], r["type"], r["from_name"], r["to_name"], r["value"]["brushlabels"])
            for r in annotation["result"]] == [
        ("c7", "brushlabels", "tag", "image", ["road"]),
        ("c9", "brushlabels", "tag", "image", ["sky"]),
        ("s3", "brushlabels", "tag", "image", ["car"])]
    r = annotation["result"][0]
    assert (r["original_width"], r["original_height"], r["value"]["format"]) == (2, 2, "rle")
    np.testing.assert_array_equal(decode_brush(r["value"]["rle"], 2, 2), ids == 7)
    assert labeling_config(CATS).splitlines()[3] == '    <Label value="car" background="#00008e"/>'


# ---------------------------------------------------------------- the tools' own names


def test_cvat_writer_gives_back_the_names_and_frames_cvat_had(tmp_path):
    (src,) = read_cvat_sources(FIX / "cross_tool_cats_MaxKuklaVod" / "cvat_job_export" /
                               "annotations.xml").values()
    images = src.images[1:3][::-1]  # frames 2 and 1 (12 MP each: two are enough)
    anns = [src.load(i.file_name) for i in images]
    path = write_cvat(anns, src.categories, tmp_path / "a.xml")
    written = [(el.get("id"), el.get("name"))
               for el in ElementTree.parse(path).getroot().iterfind("image")]
    assert written == [("2", "pexels-david-bartus-43782-1510543.jpg"),
                       ("1", "pexels-bekka419-21802.jpg")]


def test_labelstudio_writer_points_tasks_at_the_uploaded_file_again(tmp_path):
    path_in = next((FIX / "cross_tool_cats_MaxKuklaVod" / "label_studio_export").glob(
        "project-*[0-9a-f].json"))
    (src,) = read_labelstudio_sources(path_in).values()
    images = src.images[:2]  # 12 MP each: two are enough
    path = write_labelstudio([src.load(i.file_name) for i in images], src.categories,
                             tmp_path / "t.json")
    values = [t["data"]["image"] for t in json.loads(path.read_text())]
    assert values == ["/data/upload/1/48c220e9-pexels-fox-58267-762986.jpg",
                      "/data/upload/1/bd8f1cf8-pexels-arina-krasnikova-7726103.jpg"]


# ---------------------------------------------------------------- refusals


def test_stuff_segments_of_one_class_become_one_region(tmp_path):
    ann = PanopticAnnotation.from_map([[7, 8], [8, 7]], {7: 7, 8: 7}, file_name="a.jpg")
    root = ElementTree.parse(write_cvat([ann], CATS, tmp_path / "a.xml")).getroot()
    assert [m.get("label") for m in root.iter("mask")] == ["road"]
    back = read_cvat(tmp_path / "a.xml", categories=CATS).load("a.jpg")
    assert back.ids.tolist() == [[1, 1], [1, 1]]


@pytest.mark.parametrize("write", [write_cvat, write_labelstudio])
def test_unknown_category_is_refused_and_nothing_written(tmp_path, write):
    good = PanopticAnnotation.from_map([[3]], {3: 1}, file_name="a.jpg")
    bad = PanopticAnnotation.from_map([[5]], {5: 42}, file_name="b.jpg")
    with pytest.raises(AnnotationError, match=r"image 'b.jpg', segment 5: category id must be "
                       r"one of the categories written, got 42"):
        write([good, bad], CATS, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("write", [write_cvat, write_labelstudio])
@pytest.mark.parametrize("name", ["../a.jpg", "/etc/a.jpg", "C:\\a.jpg", "a/../../b.jpg"])
def test_escaping_image_names_are_refused(tmp_path, write, name):
    ann = PanopticAnnotation.from_map([[3]], {3: 1}, file_name=name)
    with pytest.raises(AnnotationError, match="image name must be a relative name"):
        write([ann], CATS, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_cvat_refuses_two_images_with_one_name(tmp_path):
    ann = PanopticAnnotation.from_map([[3]], {3: 1}, file_name="a.jpg")
    with pytest.raises(AnnotationError, match="image names and frames must be unique"):
        write_cvat([ann, ann], CATS, tmp_path / "a.xml")


def test_segment_in_table_but_not_in_map_is_refused(tmp_path):
    ann = PanopticAnnotation.from_map([[3]], {3: 1, 4: 1}, file_name="a.jpg")
    with pytest.raises(AnnotationError, match="segment 4: segment is in the segment table but "
                       "not in the map"):
        write_labelstudio([ann], CATS, tmp_path / "a.json")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab&<>\"'\n\r\t é"), max_size=12))
def test_xml_escaping_is_saxutils(text):
    """The writers' own escaping gives what xml.sax.saxutils gives (not imported at start-up)."""
    from xml.sax import saxutils

    from agreement.io import _xmltext

    assert _xmltext.escape(text) == saxutils.escape(text)
    assert _xmltext.quoteattr(text) == saxutils.quoteattr(text)
