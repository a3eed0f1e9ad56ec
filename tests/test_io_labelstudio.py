"""Label Studio JSON reader: brush RLE (hand-encoded, test vector, real file), polygons in
percent, annotators, name mapping, and every error path."""

import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from _lsenc import encode_mask, encode_words
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pycocotools import mask as coco_mask
from test_fuzz_readers import LABEL_STUDIO, _dump, mutated

from agreement.errors import AnnotationError, FormatError
from agreement.io._shapes import coco_decode
from agreement.io.labelstudio import (
    decode_brush,
    decode_rle_words,
    image_name,
    read_labelstudio,
    read_labelstudio_sources,
)
from agreement.io.study_loader import load_study

FIX = Path(__file__).parent / "data" / "fixtures" / "label_studio"


def polygon(rid, points, label="car", w=10, h=8, **value):
    return {"id": rid, "type": "polygonlabels", "from_name": "label", "to_name": "image",
            "original_width": w, "original_height": h, "image_rotation": 0,
            "value": {"points": points, "polygonlabels": [label], **value}}


def brush(rid, rle, label="car", w=10, h=8):
    return {"id": rid, "type": "brushlabels", "from_name": "label", "to_name": "image",
            "original_width": w, "original_height": h,
            "value": {"format": "rle", "rle": rle, "brushlabels": [label]}}


def annotation(aid, results, who=1, **extra):
    return {"id": aid, "completed_by": who, "result": results, "was_cancelled": False,
            "parent_annotation": None, "updated_at": f"2025-01-0{aid % 9 + 1}T00:00:00Z", **extra}


def task(tid, anns, image="/data/upload/3/0a1b2c3d-img.png"):
    return {"id": tid, "data": {"image": image}, "annotations": anns, "predictions": []}


def write(tmp_path, tasks, name="ls.json"):
    path = tmp_path / name
    path.write_text(json.dumps(tasks))
    return path


def test_converter_test_vector():
    v = [0, 0, 0, 18, 57, 27, 252, 96, 32, 1, 0, 6, 0, 40, 0, 192, 3, 128, 17, 56, 32]
    assert decode_rle_words(v).tolist() == [1, 1, 1, 1, 2, 3, 5, 6, 7, 8, 4, 4, 4, 4, 4, 4, 4, 4]


def test_real_ml_backend_brushes_have_the_documented_areas():
    src = read_labelstudio(FIX / "brush_ml_backend" / "test_brush_labels.json")
    ann = src.load(src.images[0].file_name)
    assert [s.area for s in ann.segments] == [12104, 5716, 11709]
    assert [f.kind for f in src.findings] == ["prediction"]
    raw = json.loads((FIX / "brush_ml_backend" / "test_brush_labels.json").read_text())
    rle = raw[0]["result"][0]["value"]["rle"]
    assert decode_brush(rle, 768, 576, threshold=1).sum() == 12104


@settings(max_examples=30, deadline=None)
@given(mask=arrays(bool, st.tuples(st.integers(1, 9), st.integers(1, 9))))
def test_hand_encoded_brush_decodes_exactly(mask):
    h, w = mask.shape
    np.testing.assert_array_equal(decode_brush(encode_mask(mask), w, h), mask)


def test_anti_aliased_alpha_and_threshold():
    alpha = np.array([[0, 40, 127], [128, 200, 255]], np.uint8)
    words = np.stack([alpha] * 4, axis=-1).ravel()  # R=G=B=A, as the new editor exporter writes
    rle = encode_words(words)
    np.testing.assert_array_equal(decode_brush(rle, 3, 2), alpha >= 128)
    np.testing.assert_array_equal(decode_brush(rle, 3, 2, threshold=1), alpha > 0)


def test_oversize_header_refused_before_any_large_allocation(tmp_path):
    huge = [255, 255, 255, 252, 57, 27, 252, 127, 224]  # claims 2**32 - 4 words
    tracemalloc.start()
    with pytest.raises(AnnotationError, match=r"brush RLE header must claim 320 words \(4 x "
                       r"width x height of the image\), got 4294967292; refused before decoding"):
        decode_brush(huge, 10, 8)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1 << 20
    path = write(tmp_path, [task(1, [annotation(1, [brush("b1", huge)])])])
    with pytest.raises(AnnotationError, match=r"image 'img\.png', shape region b1: brush RLE "
                       r"header must claim 320 words \(4 x 10 x 8\), got 4294967292"):
        read_labelstudio(path)


def test_runs_longer_than_the_header_and_truncated_streams():
    longer = encode_words([7] * 8)
    longer[3] = 4  # the header now claims 4 words; the first run has 8
    with pytest.raises(AnnotationError, match=r"runs must end at the 4 words the header claims, "
                       r"got a run to word 8 \(longer\)"):
        decode_rle_words(longer)
    with pytest.raises(AnnotationError, match="ends after 0 \\(truncated\\)"):
        decode_rle_words(encode_words([1, 2, 3, 4, 5, 6])[:7])
    with pytest.raises(AnnotationError, match="word size 8, run sizes"):
        decode_rle_words([0, 0, 0, 4, 0, 0, 0])


def test_polygon_percent_of_original_size_matches_pycocotools(tmp_path):
    pts_px = [(2, 1), (7, 1), (7, 6), (2, 6)]
    pct = [[x / 10 * 100, y / 8 * 100] for x, y in pts_px]
    src = read_labelstudio(write(tmp_path, [task(1, [annotation(1, [polygon("p", pct)])])]))
    got = src.load("img.png").ids == 1
    want = coco_decode(coco_mask.merge(coco_mask.frPyObjects([np.ravel(pts_px).tolist()], 8, 10)))
    np.testing.assert_array_equal(got, want)
    assert want.sum() == 25


def test_annotators_cancelled_copied_duplicates_and_names(tmp_path):
    sq = [[0, 0], [50, 0], [50, 50], [0, 50]]
    emailed = {"id": 7, "email": "eve@example.org", "first_name": "", "last_name": ""}
    tasks = [
        task(1, [annotation(1, [polygon("a", sq)], who=2),
                 annotation(2, [polygon("b", sq, label="road")], who=emailed),
                 annotation(3, [], who=3, was_cancelled=True),
                 annotation(4, [polygon("c", sq)], who=2),   # user 2 again, later: kept
                 annotation(5, [polygon("d", sq)], who=None, parent_annotation=1)]),
        task(2, [annotation(6, [polygon("e", sq)], who=7)], image="s3://bucket/dir/other%20x.png"),
    ]
    sources = read_labelstudio_sources(write(tmp_path, tasks), stuff=["road"])
    assert sorted(sources) == ["eve@example.org", "unknown", "user-2", "user-3"]
    assert [i.file_name for i in sources["eve@example.org"].images] == ["img.png", "other x.png"]
    kinds = {who: sorted(f.kind for f in s.findings) for who, s in sources.items()}
    assert kinds == {"user-2": ["duplicate_annotation"], "eve@example.org": [],
                     "user-3": ["cancelled_annotation"], "unknown": ["copied_annotation"]}
    assert sources["user-2"].shapes("img.png")[0].name == "region c"
    assert sources["eve@example.org"].categories.stuff_ids == (2,)
    study = load_study(tmp_path)
    assert set(study.annotators) == {"eve@example.org", "unknown", "user-2", "user-3"}
    assert study.missing().shape[0] == 4  # other x.png: only eve (2); user-3 has nothing (2)


def test_name_mapping():
    assert image_name("/data/upload/1/48c220e9-pexels-fox-58267-762986.jpg") == \
        "pexels-fox-58267-762986.jpg"
    assert image_name("/data/upload/1/48c220e9-a.jpg", strip_upload_prefix=False) == \
        "48c220e9-a.jpg"
    assert image_name("https://host/x/deadbeef.jpg?token=1") == "deadbeef.jpg"


@pytest.mark.parametrize("value, name", [
    ("/data/local-files/?d=images/a.jpg", "a.jpg"),
    ("/data/local-files?d=images/a.jpg", "a.jpg"),
    ("http://localhost:8080/data/local-files/?d=batch%201/sub/a%20b%2Bc.png&x=1", "a b+c.png"),
    ("/data/local-files/?x=1&d=48c220e9-kept.jpg", "48c220e9-kept.jpg"),  # no upload prefix here
    ("/data/local-files/?d=C:%5Cdata%5Ca.jpg", "a.jpg"),
])
def test_local_files_urls_name_the_file_in_their_d_parameter(value, name):
    assert image_name(value) == name


def test_rename_and_open_polygon_and_rotation(tmp_path):
    tri = [[0, 0], [50, 0], [50, 50]]
    res = polygon("p", tri, closed=False)
    res["image_rotation"] = 90
    src = read_labelstudio(write(tmp_path, [task(1, [annotation(1, [res])])]),
                           rename={"img.png": "frame_1.png"})
    assert [i.file_name for i in src.images] == ["frame_1.png"]
    assert sorted(f.kind for f in src.findings) == ["open_polygon", "rotated_image"]


def test_truncated_json(tmp_path):
    path = write(tmp_path, [task(1, [annotation(1, [])])])
    path.write_text(path.read_text()[:-5])
    with pytest.raises(FormatError, match=r"ls\.json'.*must be valid JSON"):
        read_labelstudio_sources(path)


def test_sizes_that_disagree_within_a_task(tmp_path):
    sq = [[0, 0], [50, 0], [50, 50]]
    path = write(tmp_path, [task(1, [annotation(1, [polygon("p", sq)]),
                                     annotation(2, [polygon("q", sq, w=11)], who=2)])])
    with pytest.raises(AnnotationError, match=r"image 'img\.png': image size must be the same in "
                       r"every result of a task, got \[\(10, 8\), \(11, 8\)\]"):
        read_labelstudio_sources(path)


def test_polygon_with_nan(tmp_path):
    path = write(tmp_path, [task(1, [annotation(1, [polygon("p9", [[0, 0], [float("nan"), 1],
                                                                   [5, 5]])])])])
    with pytest.raises(AnnotationError, match=r"annotator 'user-1', file '.*ls\.json', image "
                       r"'img\.png', shape region p9: polygon coordinates must be finite"):
        read_labelstudio(path)


def test_region_without_label_is_unknown(tmp_path):
    res = polygon("p", [[0, 0], [50, 0], [50, 50]])
    res["value"]["polygonlabels"] = []
    src = read_labelstudio(write(tmp_path, [task(1, [annotation(1, [res])])]))
    assert len(src.categories) == 0
    assert [(f.kind, f.shape) for f in src.findings] == [("unknown_label", "region p")]


def _png_url(alpha):
    import base64
    import io

    from PIL import Image

    rgba = np.zeros((*alpha.shape, 4), np.uint8)
    rgba[:, :, 3] = alpha
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def bitmask(rid, alpha, w=10, h=8):
    return {"id": rid, "type": "bitmasklabels", "original_width": w, "original_height": h,
            "value": {"imageDataURL": _png_url(alpha), "bitmasklabels": ["car"]}}


def test_bitmask_alpha_is_the_mask_and_size_is_checked(tmp_path):
    alpha = np.zeros((8, 10), np.uint8)
    alpha[2:5, 3:9] = 255
    alpha[6, 0] = 1
    src = read_labelstudio(write(tmp_path, [task(1, [annotation(1, [bitmask("m", alpha)])])]))
    np.testing.assert_array_equal(src.load("img.png").ids == 1, alpha > 0)
    wrong = bitmask("m", np.zeros((4, 10), np.uint8))
    with pytest.raises(AnnotationError, match=r"shape region m: bitmask PNG must be 10x8 \(width "
                       r"x height\) as original_width/original_height say, got 10x4"):
        read_labelstudio(write(tmp_path, [task(1, [annotation(1, [wrong])])], name="w.json"))


def test_region_without_value_is_refused_and_relation_is_counted(tmp_path):
    res = polygon("p4", [[0, 0], [50, 0], [50, 50]])
    del res["value"]
    path = write(tmp_path, [task(1, [annotation(1, [res])])])
    with pytest.raises(AnnotationError, match=r"annotator 'user-1', file '.*ls\.json', image "
                       r"'img\.png', shape region p4: polygonlabels result must have a 'value' "
                       r"object, got None"):
        read_labelstudio(path)
    rel = {"from_id": "p", "to_id": "q", "type": "relation", "direction": "right"}
    ok = polygon("p", [[0, 0], [50, 0], [50, 50]])
    src = read_labelstudio(write(tmp_path, [task(1, [annotation(1, [ok, rel])])], "r.json"))
    assert [(f.kind, f.detail) for f in src.findings if f.kind == "skipped_shape"] == [
        ("skipped_shape", "1 'relation' result(s) have no area; skipped")]


def test_labels_given_as_a_string_are_refused_not_read_letter_by_letter(tmp_path):
    res = polygon("p5", [[0, 0], [50, 0], [50, 50]])
    res["value"]["polygonlabels"] = "car"
    path = write(tmp_path, [task(1, [annotation(1, [res])])])
    with pytest.raises(AnnotationError, match=r"image 'img\.png', shape region p5: polygonlabels "
                       r"must be a list of label names, got 'car'"):
        read_labelstudio(path)


# -- the export read task by task: same sources, same first error, bounded memory --------------

def _outcome(read, path, **options):
    """Everything a reading gives: each source's images, categories, findings and shapes (as
    pickled bytes, exact), or the first error's type and text."""
    import pickle

    from agreement.errors import AgreementError

    try:
        sources = read(path, **options)
    except AgreementError as exc:
        return ("error", type(exc).__name__, str(exc))
    return {who: (src.name, src.annotator, src.images, src.findings,
                  [(c.id, c.name, c.isthing) for c in src.categories.values()],
                  [(name, pickle.dumps(src.shapes(name))) for name in src._shapes])
            for who, src in sources.items()}


def _same_as_whole_file(path, **options):
    from _ls_oracle import read_whole

    got = _outcome(read_labelstudio_sources, path, **options)
    assert got == _outcome(read_whole, path, **options)
    return got


_EXPORTS = [*sorted(FIX.rglob("*.json")), FIX.parent / "cross_tool_cats_MaxKuklaVod" /
            "label_studio_export" / "project-1-at-2025-06-19-14-54-b0c66fa7.json"]


@pytest.mark.parametrize("path", _EXPORTS, ids=lambda p: p.parent.name)
@pytest.mark.parametrize("predictions", [False, True])
def test_fixtures_read_task_by_task_as_the_whole_file(path, predictions):
    got = _same_as_whole_file(path, include_predictions=predictions)
    assert isinstance(got, dict) and got, got


_SQ = [[10, 10], [60, 10], [60, 70], [10, 70]]
_MASKS = [np.zeros((8, 10), bool), np.eye(8, 10, dtype=bool), np.ones((8, 10), bool)]
_RESULTS = {  # kind -> a result (r: its id); the last ones are errors of the shape stage
    "polygon": lambda r: polygon(r, _SQ),
    "road": lambda r: polygon(r, _SQ[::-1], label="road"),
    "open": lambda r: polygon(r, _SQ[:3], closed=False),
    "line": lambda r: polygon(r, [[0, 0], [50, 50]]),  # degenerate: a finding
    "unlabeled": lambda r: polygon(r, _SQ, label=[]),
    "brush": lambda r: brush(r, encode_mask(_MASKS[len(r) % 3])),
    "bitmask": lambda r: bitmask(r, np.full((8, 10), 255, np.uint8)),
    "relation": lambda r: {"id": r, "type": "relation", "from_id": "a", "to_id": "b"},
    "labels": lambda r: {"id": "p0", "type": "labels", "value": {"labels": ["person"]}},
    "nosize": lambda r: {**polygon(r, _SQ), "original_width": None},  # error: parse stage
    "nan": lambda r: polygon(r, [[0, 0], [float("nan"), 1], [5, 5]]),  # errors: shape stage
    "header": lambda r: brush(r, encode_mask(np.ones((4, 10), bool))),
}
_WHO = [1, 2, {"id": 3, "email": "c@example.org"}, {"id": 1, "email": "a@example.org"}, None]


@st.composite
def _exports(draw):
    """Exports of several annotators (ids, emails, none), predictions, bare predictions,
    cancelled / copied / duplicated annotations, every region kind, and now and then an error
    of each stage (emails, tasks, shapes)."""
    kinds = st.sampled_from(sorted(_RESULTS)).filter(
        lambda k: k not in ("nosize", "nan", "header") or draw(st.integers(0, 9)) == 0)
    tasks = []
    for t in range(draw(st.integers(1, 6))):
        anns = []
        for a in range(draw(st.integers(0, 3))):
            results = [_RESULTS[k](f"{k[0]}{n}") for n, k in enumerate(
                draw(st.lists(kinds, max_size=4)))]
            anns.append(annotation(10 * t + a, results, who=draw(st.sampled_from(_WHO)),
                                   was_cancelled=draw(st.sampled_from([False] * 5 + [True])),
                                   parent_annotation=draw(st.sampled_from([None] * 5 + [1]))))
        entry = task(t, anns, image=f"/data/upload/1/0a1b2c3d-{draw(st.sampled_from('abcde'))}.png")
        entry["predictions"] = [annotation(100 + t, [_RESULTS["brush"]("pb")], who=None,
                                           model_version=draw(st.sampled_from(["m1", "m2"])))
                                for _ in range(draw(st.integers(0, 2)))]
        tasks.append(entry)
        if draw(st.integers(0, 9)) == 0:  # an ML backend's bare prediction
            tasks.append({"result": [_RESULTS["polygon"]("q")], "model_version": "ml"})
    for k in range(draw(st.integers(0, 2)) if draw(st.booleans()) else 0):  # rare errors first
        spot = draw(st.integers(0, len(tasks) - 1))
        if draw(st.booleans()):  # an emails error
            tasks[spot].setdefault("annotations", []).append(
                annotation(90 + k, [], who={"id": 9, "email": 5}))
        else:  # a task of a wrong field type (the tasks stage)
            tasks[spot]["predictions"] = "none"
    return tasks


@settings(max_examples=60, deadline=None)
@given(tasks=_exports(), predictions=st.booleans(), given_cats=st.booleans(),
       rename=st.sampled_from([None, {"a.png": "b.png"}]))
def test_generated_exports_read_task_by_task_as_the_whole_file(
        tmp_path_factory, tasks, predictions, given_cats, rename):
    from agreement.io._shapes import resolve_categories

    path = write(tmp_path_factory.mktemp("ls"), tasks)
    cats = resolve_categories(["car", "road"], stuff=["road"]) if given_cats else None
    _same_as_whole_file(path, include_predictions=predictions, categories=cats, rename=rename)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_mutated_fixtures_read_task_by_task_as_the_whole_file(tmp_path_factory, data):
    """The fuzz suite's mutations of the fixtures: the same sources or the same first error."""
    doc = data.draw(mutated(LABEL_STUDIO[data.draw(st.integers(0, len(LABEL_STUDIO) - 1))]))
    path = tmp_path_factory.mktemp("ls") / "m.json"
    path.write_text(_dump(doc), encoding="utf-8", errors="surrogatepass")
    _same_as_whole_file(path, include_predictions=data.draw(st.booleans()))


def _two_errors(first, second, n=4):
    """An export of ``n`` tasks (annotators 1 and 2) with two changes at tasks ``first[0]`` and
    ``second[0]``."""
    tasks = [task(t, [annotation(2 * t + 1, [polygon("p", _SQ)], who=1),
                      annotation(2 * t + 2, [brush("b", encode_mask(_MASKS[2]))], who=2)],
                  image=f"/x/{t}.png") for t in range(n)]
    for at, change in (first, second):
        change(tasks[at])
    return tasks


def _email(t):
    t["annotations"][0]["completed_by"] = {"id": 1, "email": 5}


def _tasks_error(t):
    t["annotations"][0]["was_cancelled"] = "no"


def _bad_brush(who):
    def change(t):
        t["annotations"][who]["result"] = [brush("h", encode_mask(np.ones((4, 10), bool)))]
    return change


def _not_a_task(t):
    t.clear()


@pytest.mark.parametrize("first, second, message", [
    # the emails of every task are checked before any task is parsed
    ((3, _email), (0, _tasks_error), "task 3 completed_by 'email' must be a string"),
    # every task is parsed before any shape is made
    ((0, _bad_brush(1)), (3, _tasks_error), "task 3 annotation 'was_cancelled' must be"),
    # shapes annotator by annotator: user-1 (met first) before user-2, whatever the task
    ((0, _bad_brush(1)), (2, _bad_brush(0)), r"annotator 'user-1', .* image '2\.png', shape "
                                             "region h: brush RLE header must claim 320"),
    ((1, _bad_brush(1)), (3, _bad_brush(1)), r"annotator 'user-2', .* image '1\.png'"),
])
def test_the_first_error_is_the_whole_file_reading_first(tmp_path, first, second, message):
    path = write(tmp_path, _two_errors(first, second))
    with pytest.raises((AnnotationError, FormatError), match=message):
        read_labelstudio_sources(path)
    _same_as_whole_file(path)


def test_export_shape_errors_come_after_every_task_and_list_error(tmp_path):
    tasks = _two_errors((0, _email), (1, _bad_brush(0)))
    path = write(tmp_path, [*tasks, 7])  # not a task, after the emails error
    with pytest.raises(FormatError, match="must be a list of tasks, got list"):
        read_labelstudio_sources(path)
    path = write(tmp_path, [{"data": {"image": "a.png"}}] * 3, name="info.json")
    with pytest.raises(FormatError, match=r"got none \(is this the export's -info\.json\?\)"):
        read_labelstudio_sources(path)
    path.write_text(json.dumps(tasks)[:-3])  # a syntax error after the first task
    with pytest.raises(FormatError, match="must be valid JSON, got an error at line 1 column"):
        read_labelstudio_sources(path)
    path.write_text(json.dumps(tasks[2]))  # one task as an object
    assert sorted(_same_as_whole_file(path)) == ["user-1", "user-2"]


def _many(n):
    masks = [encode_mask(np.roll(_MASKS[1], k, axis=1)) for k in range(5)]
    return [task(t, [annotation(2 * t + who, [
        *(brush(f"b{k}", masks[(t + k) % 5], label=("car", "road")[k % 2]) for k in range(3)),
        polygon("p", _SQ, label="person")], who=who) for who in (1, 2)], image=f"/x/{t:05d}.png")
        for t in range(n)]


def test_reading_holds_no_task_or_region_per_image(tmp_path):
    """Memory while reading grows by well under 2 kB an image (two annotators: the image list),
    not by the file: before, the whole export and every region were held (~15 kB an image
    here)."""
    from unittest import mock

    from agreement.io import _files

    peaks = []
    with mock.patch.object(_files, "_READ", 1 << 15), mock.patch.object(_files, "_BLOCK", 1 << 15):
        for n in (200, 800):
            path = write(tmp_path, _many(n), name=f"m{n}.json")
            tracemalloc.start()
            sources = read_labelstudio_sources(path)
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
            assert [len(s.images) for s in sources.values()] == [n, n]
            assert len(sources["user-1"].shapes("00007.png")) == 4
    assert (peaks[1] - peaks[0]) / 600 < 3000  # bytes an image


@settings(max_examples=200, deadline=None)
@given(rle=st.lists(st.integers(-3, 258) | st.sampled_from([True, False, 1.0, "1", None, 2**70]),
                    max_size=6) | st.lists(st.integers(0, 255), max_size=40))
def test_brush_bytes_are_checked_as_each_item_was(rle):
    """The brush RLE check (one pass over the types, one ``bytes``) accepts what the test of
    each item (an int, not a bool, in 0..255) accepted, with the same bytes."""
    from agreement.io._lsrle import _as_bytes

    ok = all(type(v) is int and 0 <= v <= 255 for v in rle)
    if ok:
        assert _as_bytes(rle, {}).tolist() == rle and _as_bytes(tuple(rle), {}).tolist() == rle
    else:
        with pytest.raises(FormatError, match=r"brush rle must be a list of integers 0\.\.255"):
            _as_bytes(rle, {})
