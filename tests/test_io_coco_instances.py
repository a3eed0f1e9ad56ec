"""COCO instances reader: hand-made rasterizations, real files, and every error path."""

import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from agreement.errors import AnnotationError, FormatError
from agreement.io._shapes import coco_decode
from agreement.io.coco_instances import read_coco_instances
from agreement.io.coco_panoptic import read_coco_panoptic

FIX = Path(__file__).parent / "data" / "fixtures"
PAN = FIX / "coco_panoptic" / "panopticapi"


def write(tmp_path, annotations, *, categories=None, images=None, name="inst.json"):
    doc = {
        "images": images or [{"id": 1, "file_name": "img.png", "height": 8, "width": 10}],
        "annotations": annotations,
        "categories": categories or [{"id": 1, "name": "car"}, {"id": 3, "name": "road"}],
    }
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def ann(aid, cat, seg, **extra):
    return {"id": aid, "image_id": 1, "category_id": cat, "segmentation": seg, "iscrowd": 0,
            "area": 0, "bbox": [0, 0, 0, 0], **extra}


def test_square_polygon_covers_exactly_the_pycocotools_pixels(tmp_path):
    poly = [1.0, 1.0, 5.0, 1.0, 5.0, 4.0, 1.0, 4.0]
    src = read_coco_instances(write(tmp_path, [ann(7, 1, [poly])]))
    got = src.load("img.png")
    want = coco_decode(coco_mask.merge(coco_mask.frPyObjects([poly], 8, 10)))
    np.testing.assert_array_equal(got.ids == 7, want)
    assert want.sum() == 12  # columns 1..4, rows 1..3
    assert got.segments[0].area == 12 and got.segments[0].bbox == (1, 1, 4, 3)


def test_several_parts_are_one_segment_and_rle_both_forms(tmp_path):
    m = np.zeros((8, 10), np.uint8)
    m[6:8, 0:3] = 1
    compressed = coco_mask.encode(np.asfortranarray(m))
    compressed["counts"] = compressed["counts"].decode()
    m2 = np.zeros((8, 10), np.uint8)
    m2[0, 8:10] = 1
    # uncompressed counts, column-major: 64 zeros (cols 0-7), then col 8: 1 one, 7 zeros, col 9
    uncompressed = {"size": [8, 10], "counts": [64, 1, 7, 1, 7]}
    parts = [[0, 0, 2, 0, 2, 2, 0, 2], [4, 0, 6, 0, 6, 2, 4, 2]]
    src = read_coco_instances(write(tmp_path, [
        ann(1, 1, parts), ann(2, 1, compressed), ann(3, 1, uncompressed)]))
    got = src.load("img.png").ids
    assert (got == 1).sum() == 8 and got[0, 0] == 1 and got[1, 5] == 1 and got[1, 3] == 0
    np.testing.assert_array_equal(got == 2, m.astype(bool))
    np.testing.assert_array_equal(got == 3, m2.astype(bool))


def test_isthing_from_file_categories_file_or_stuff(tmp_path):
    road = [0, 0, 10, 0, 10, 8, 0, 8]
    car = [2, 2, 4, 2, 4, 4, 2, 4]
    anns = [ann(1, 3, [road]), ann(2, 1, [car]), ann(3, 3, [[0, 0, 1, 0, 1, 1, 0, 1]])]
    # stuff= list: road is stuff, painted under the car regardless of file order
    src = read_coco_instances(write(tmp_path, anns[1:2] + anns[:1] + anns[2:]), stuff=["road"])
    a = src.load("img.png")
    assert a.ids[3, 3] == 2 and a.ids[0, 0] == 1 and len(a.segments) == 2  # road merged
    assert src.categories.stuff_ids == (3,)
    # isthing in the file
    cats = [{"id": 1, "name": "car", "isthing": 1}, {"id": 3, "name": "road", "isthing": 0}]
    assert read_coco_instances(write(tmp_path, anns, categories=cats)).categories.stuff_ids == (3,)
    # a categories file gives ids too (matched by name)
    cat_file = tmp_path / "cats.json"
    cat_file.write_text(json.dumps([{"id": 20, "name": "car", "isthing": 1},
                                    {"id": 30, "name": "road", "isthing": 0}]))
    src = read_coco_instances(write(tmp_path, anns), categories=cat_file)
    assert sorted(s.category_id for s in src.load("img.png").segments) == [20, 30]


def test_real_detection_file_equals_the_panoptic_png():
    """panopticapi's detection-format JSON is the same annotation as its panoptic PNGs."""
    inst = read_coco_instances(PAN / "sample_data" / "panoptic_coco_detection_format.json",
                               categories=PAN / "panoptic_coco_categories.json")
    pan = read_coco_panoptic(PAN / "sample_data" / "panoptic_examples.json")
    assert inst.findings == []
    for info in inst.images:
        a = inst.load(info.file_name)
        b = pan.load(next(i.file_name for i in pan.images if i.id == info.id))
        codes = np.unique(a.ids.astype(np.int64).ravel() << 32 | b.ids.ravel())
        pairs = np.stack([codes >> 32, codes & 0xFFFFFFFF])
        # a bijection between segment ids: the same partition of the pixels
        assert len(np.unique(pairs[0])) == len(np.unique(pairs[1])) == pairs.shape[1]
        cat_a = {s.id: (s.category_id, s.iscrowd) for s in a.segments}
        cat_b = {s.id: (s.category_id, s.iscrowd) for s in b.segments}
        assert all(cat_a.get(x, 0) == cat_b.get(y, 0) for x, y in pairs.T)
        assert len(a.segments) == len(b.segments)


def test_datumaro_files_boxes_skipped_and_cvat_crowd_read_as_object():
    base = FIX / "coco_panoptic_and_instances" / "datumaro" / "coco_instances" / "annotations"
    train = read_coco_instances(base / "instances_train.json")
    assert [f.kind for f in train.findings] == ["skipped_shape"]
    val = read_coco_instances(base / "instances_val.json")
    assert [f.kind for f in val.findings] == ["crowd_as_object"]
    # the RLE (columns 0-1, 20 px, column-major) is later in the file: it hides the polygon
    res = val.paint("b.jpg")
    assert [(s.id, s.category_id, s.iscrowd, s.area) for s in res.annotation.segments] == [
        (2, 2, False, 20)]
    assert (res.annotation.ids[:, :2] == 2).all() and (res.annotation.ids[:, 2:] == 0).all()
    assert sorted(f.kind for f in res.findings) == ["hidden_shape", "overlap"]
    assert res.conflicts[["loser", "winner", "pixels"]].values.tolist() == [
        ["annotation 1", "annotation 2", 2]]
    kept = read_coco_instances(base / "instances_val.json", iscrowd="file").load("b.jpg")
    assert [s.iscrowd for s in kept.segments] == [True]


def test_truncated_json(tmp_path):
    path = write(tmp_path, [])
    path.write_text(path.read_text()[:-20])
    with pytest.raises(FormatError, match=r"inst\.json'.*must be valid JSON, got an error at line"):
        read_coco_instances(path)


def test_rle_of_wrong_image_size(tmp_path):
    with pytest.raises(AnnotationError, match=r"file '.*inst\.json', image 'img\.png', shape "
                       r"annotation 4: RLE size must equal the image size \[8, 10\]"):
        read_coco_instances(write(tmp_path, [ann(4, 1, {"size": [8, 9], "counts": [72]})]))


LONGER = coco_mask.encode(np.zeros((9, 10), np.uint8, order="F"))["counts"].decode()


@pytest.mark.parametrize("counts", [[70, 20], LONGER])
def test_rle_longer_than_the_image(tmp_path, counts):
    with pytest.raises(AnnotationError, match=r"image 'img\.png', shape annotation 5: RLE runs "
                       r"must cover the 10x8 image exactly \(80 px\), got \d+ px \(longer\)"):
        read_coco_instances(write(tmp_path, [ann(5, 1, {"size": [8, 10], "counts": counts})]))


def test_polygon_with_nan(tmp_path):
    path = write(tmp_path, [ann(6, 1, [[0, 0, 4, 0, float("nan"), 4]])])
    with pytest.raises(AnnotationError, match=r"file '.*inst\.json', image 'img\.png', shape "
                       r"annotation 6: polygon coordinates must be finite numbers, got \[\[nan"):
        read_coco_instances(path)


def test_duplicate_image_names_as_label_studio_coco_writes_them(tmp_path):
    imgs = [{"id": i, "file_name": "x.jpg", "height": 4, "width": 4} for i in (0, 1)]
    with pytest.raises(AnnotationError, match=r"image file name must appear once.*Label Studio"):
        read_coco_instances(write(tmp_path, [], images=imgs))


def test_unknown_category_and_degenerate_polygons_are_findings(tmp_path):
    src = read_coco_instances(write(tmp_path, [
        ann(1, 9, [[0, 0, 4, 0, 4, 4]]),              # category 9 is not declared
        ann(2, 1, [[0, 0, 4, 0]]),                    # 2 points
        ann(3, 1, [[0, 0, 2, 2, 4, 4]]),              # collinear: zero area
        ann(4, 1, [[0, 0, 6, 0, 0, 6, 2, 6]]),        # crossing outline (kept)
        ann(5, 1, [[8, 6, 12, 6, 12, 9, 8, 9]]),      # partly outside the 10x8 image
    ]))
    kinds = sorted(f.kind for f in src.findings)
    assert kinds == ["degenerate_polygon"] * 3 + ["outside_image", "skipped_shape",
                                                   "unknown_label"]
    a = src.load("img.png")
    assert sorted(s.id for s in a.segments) == [4, 5]
    assert a.segment(5).area == 4  # clipped to columns 8-9, rows 6-7


def test_rename_maps_image_names(tmp_path):
    src = read_coco_instances(write(tmp_path, []), rename={"img.png": "frame.png"})
    assert [i.file_name for i in src.images] == ["frame.png"]


def _many(tmp_path, n):
    images = [{"id": k + 1, "file_name": f"img_{k:05d}.png", "height": 40, "width": 60}
              for k in range(n)]
    anns = [{"id": 10 * k + j + 1, "image_id": k + 1, "category_id": 1 + 2 * (j % 2),
             "segmentation": [[1.0 + j, 1.0, 30.5, 2.0 + j, 20.25, 30.0, 2.0, 25.0 + j]],
             "iscrowd": 0, "area": 0, "bbox": [0, 0, 0, 0]} for k in range(n) for j in range(6)]
    return write(tmp_path, anns, images=images, name=f"many{n}.json")


def test_annotations_are_decoded_one_at_a_time(tmp_path):
    """The 'annotations' array is read lazily and the shapes go to the source's temporary file
    a few at a time: memory while reading grows by ~2.7 kB an image here (the image list and
    its index), not by the decoded JSON and every shape (~10 kB an image before)."""
    import tracemalloc

    peaks = []
    for n in (100, 1100):
        path = _many(tmp_path, n)
        tracemalloc.start()
        src = read_coco_instances(path)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert len(src.images) == n and len(src.shapes("img_00007.png")) == 6
    assert (peaks[1] - peaks[0]) / 1000 < 5000  # bytes an image (~2,750 now)
