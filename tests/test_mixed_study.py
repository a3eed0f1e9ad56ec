"""A study mixing CVAT XML, Label Studio JSON and COCO instances gives the same maps (hence the
same PQ) as the same annotations written as COCO panoptic."""

import json

import numpy as np
import pytest
from _lsenc import encode_mask
from pycocotools import mask as coco_mask
from test_io_cvat import document, encode_cvat, poly_xml

from agreement.io import write_coco_panoptic
from agreement.io.study_loader import load_study
from agreement.model import Categories, PanopticAnnotation

pq = pytest.importorskip("agreement.metrics.pq")

CATS = [{"id": 1, "name": "car", "isthing": 1}, {"id": 2, "name": "person", "isthing": 1},
        {"id": 7, "name": "road", "isthing": 0}]
IMAGES = {"m1.png": (16, 20), "m2.png": (12, 14)}  # (height, width)


def blob(h, w, cy, cx, r):
    yy, xx = np.mgrid[:h, :w]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def truth(annotator):
    """Per image: [(category, kind, geometry)] and the expected map {segment: category}."""
    shift = {"A": 0, "B": 1, "C": 2}[annotator]
    out = {}
    for name, (h, w) in IMAGES.items():
        road = (0, h // 2, w, h - h // 2)                  # x, y, w, h rectangle
        car = (2 + shift, 2, 6, 4 + shift % 2)
        person = blob(h, w, h // 2 + 1, w - 5, 3 + shift % 2)
        ids = np.zeros((h, w), np.int32)
        x, y, ww, hh = road
        ids[y : y + hh, x : x + ww] = 1
        x, y, ww, hh = car
        ids[y : y + hh, x : x + ww] = 2
        ids[person] = 3
        out[name] = dict(road=road, car=car, person=person,
                         ann=PanopticAnnotation.from_map(ids, {1: 7, 2: 1, 3: 2}, file_name=name))
    return out


def rect_pts(r):
    x, y, w, h = r
    return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]


def write_cvat(path, gt, labels=("car", "person", "road")):
    images = []
    for name, (h, w) in IMAGES.items():
        g = gt[name]
        ys, xs = np.nonzero(g["person"])
        box = g["person"][ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        rle = ", ".join(map(str, encode_cvat(box)))
        mask = (f'<mask label="person" rle="{rle}" left="{xs.min()}" top="{ys.min()}" '
                f'width="{box.shape[1]}" height="{box.shape[0]}" z_order="1"/>')
        shapes = [poly_xml(rect_pts(g["road"]), label="road", z=-1), mask,
                  poly_xml(rect_pts(g["car"]))]  # the car is later, but the mask is above it
        images.append((name, w, h, shapes, ""))
    path.write_text(document(images, labels=labels))


def write_labelstudio(path, gt):
    tasks = []
    for t, (name, (h, w)) in enumerate(IMAGES.items()):
        g = gt[name]

        def pct(r, w=w, h=h):
            return [[x / w * 100, y / h * 100] for x, y in rect_pts(r)]

        common = {"original_width": w, "original_height": h, "image_rotation": 0}
        results = [
            {"id": "car", "type": "polygonlabels", **common,
             "value": {"points": pct(g["car"]), "polygonlabels": ["car"], "closed": True}},
            {"id": "road", "type": "polygonlabels", **common,
             "value": {"points": pct(g["road"]), "polygonlabels": ["road"], "closed": True}},
            {"id": "person", "type": "brushlabels", **common,
             "value": {"format": "rle", "rle": encode_mask(g["person"]),
                       "brushlabels": ["person"]}},
        ]
        tasks.append({"id": t + 1, "data": {"image": f"/data/upload/1/89abcdef-{name}"},
                      "annotations": [{"id": t + 1, "completed_by": 5, "result": results}]})
    path.write_text(json.dumps(tasks))


def write_coco_instances(path, gt):
    images, anns = [], []
    for i, (name, (h, w)) in enumerate(IMAGES.items(), start=1):
        g = gt[name]
        images.append({"id": i, "file_name": name, "height": h, "width": w})
        x, y, cw, ch = g["car"]
        halves = [np.ravel(rect_pts((x, y, cw // 2, ch))).tolist(),
                  np.ravel(rect_pts((x + cw // 2, y, cw - cw // 2, ch))).tolist()]
        rle = coco_mask.encode(np.asfortranarray(g["person"].astype(np.uint8)))
        anns += [
            {"id": 10 * i, "image_id": i, "category_id": 7, "iscrowd": 0,
             "segmentation": [np.ravel(rect_pts(g["road"])).tolist()]},
            {"id": 10 * i + 1, "image_id": i, "category_id": 1, "iscrowd": 0,
             "segmentation": halves},  # a car in two parts: one segment
            {"id": 10 * i + 2, "image_id": i, "category_id": 2, "iscrowd": 0,
             "segmentation": {"size": [h, w], "counts": rle["counts"].decode()}},
        ]
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": CATS}))


def same_partition(a, b):
    pairs = np.unique(np.stack([a.ids.ravel(), b.ids.ravel()]), axis=1)
    if not (len(np.unique(pairs[0])) == len(np.unique(pairs[1])) == pairs.shape[1]):
        return False
    ca = {s.id: s.category_id for s in a.segments}
    cb = {s.id: s.category_id for s in b.segments}
    return all(ca.get(x, 0) == cb.get(y, 0) for x, y in pairs.T)


def test_mixed_formats_equal_coco_panoptic(tmp_path):
    mixed, panoptic = tmp_path / "mixed", tmp_path / "panoptic"
    mixed.mkdir()
    panoptic.mkdir()
    (mixed / "categories.json").write_text(json.dumps(CATS))
    gts = {a: truth(a) for a in "ABC"}
    write_cvat(mixed / "A.xml", gts["A"])
    write_labelstudio(mixed / "B.json", gts["B"])
    write_coco_instances(mixed / "C.json", gts["C"])
    cats = Categories.from_coco(CATS)
    for a, gt in gts.items():
        write_coco_panoptic([gt[n]["ann"] for n in IMAGES], cats, panoptic / f"{a}.json")
    # a fourth annotator in COCO panoptic itself (a copy of A) joins the mixed study
    write_coco_panoptic([gts["A"][n]["ann"] for n in IMAGES], cats, mixed / "D.json")
    s_mixed, s_pan = load_study(mixed), load_study(panoptic)
    assert s_mixed.annotators == ("A", "B", "C", "D")
    assert s_pan.annotators == ("A", "B", "C")
    assert s_mixed.images == s_pan.images == tuple(sorted(IMAGES))
    values = []
    for image in IMAGES:
        got, want = s_mixed.annotations(image), s_pan.annotations(image)
        for a in "ABC":
            assert same_partition(got[a], want[a]), (a, image)
        assert same_partition(got["D"], want["A"])
        for ref in "ABC":
            for other in "ABC":
                p_mixed = pq.panoptic_quality(got[ref], got[other], categories=cats).pq
                p_pan = pq.panoptic_quality(want[ref], want[other], categories=cats).pq
                assert p_mixed == pytest.approx(p_pan, abs=1e-12)
                values.append(p_mixed)
    assert min(values) < 1.0 < max(values) + 1e-9  # annotators do disagree
