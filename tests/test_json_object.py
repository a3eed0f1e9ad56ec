"""``read_json_object`` and ``read_json_array``: the same document (or the same error) as
``read_json``, with the lazy arrays decoded one element at a time."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agreement.errors import FormatError
from agreement.io import _files
from agreement.io._files import JsonArray, read_json, read_json_array, read_json_object
from agreement.io._limits import Limits

LIMITS = Limits(max_depth=6)
_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5)
_value = st.recursive(_leaf, lambda kids: st.lists(kids, max_size=3)
                      | st.dictionaries(st.text(max_size=3), kids, max_size=3), max_leaves=12)


def _both(path):
    out = []
    for read in (lambda: read_json(path, limits=LIMITS),
                 lambda: read_json_object(path, lazy=("images", "annotations"), limits=LIMITS)):
        try:
            got = read()
        except FormatError as exc:
            out.append(("error", str(exc)))
            continue
        if isinstance(got, dict):
            got = {k: list(v) if isinstance(v, JsonArray) else v for k, v in got.items()}
        out.append(got)
    return out


@settings(max_examples=150, deadline=None)
@given(doc=st.dictionaries(st.sampled_from(["images", "annotations", "categories", "x"]), _value,
                           max_size=4),
       indent=st.sampled_from([None, 0, 2]), cut=st.integers(0, 400), mutate=st.booleans())
def test_same_document_or_same_error(tmp_path_factory, doc, indent, cut, mutate):
    text = json.dumps(doc, indent=indent)
    if mutate:  # truncated or garbled: the same error message either way
        text = text[:cut] + text[cut + 1:] if cut < len(text) else text[:-1]
    path = tmp_path_factory.mktemp("j") / "a.json"
    path.write_text(text)
    first, second = _both(path)
    assert first == second


@settings(max_examples=150, deadline=None)
@given(doc=st.dictionaries(st.sampled_from(["images", "annotations", "categories", "x"]), _value,
                           max_size=4),
       indent=st.sampled_from([None, 0, 2]), cut=st.integers(0, 400), mutate=st.booleans(),
       read=st.integers(1, 9), block=st.integers(1, 40), bom=st.booleans())
def test_tiny_blocks_change_nothing(tmp_path_factory, doc, indent, cut, mutate, read, block, bom):
    """The file is read and the arrays packed a few characters at a time: every value, key,
    number and multi-byte character cut across reads, the same document or the same error."""
    text = json.dumps(doc, indent=indent, ensure_ascii=False)
    if mutate:
        text = text[:cut] + text[cut + 1:] if cut < len(text) else text[:-1]
    path = tmp_path_factory.mktemp("j") / "a.json"
    path.write_text(("\ufeff" if bom else "") + text, encoding="utf-8")
    with mock.patch.object(_files, "_READ", read), mock.patch.object(_files, "_BLOCK", block):
        first, second = _both(path)
    assert first == second


@pytest.mark.parametrize("text", [
    '{"images": [1, [[[[[2]]]]]]}',       # too deep inside a lazy array
    '{"annotations": [1, 2,]}', '{"images": [1 2]}', '{"images": [1], } ', '[1, 2]', '"x"',
    '{"images": [1]} tail', '\ufeff{"images": []}', '{"images": [1], "images": {"a": 1}}',
    '{"images": [[[[[[[1]]]]]]], 2]}', '{"images": [[[[[[[1]]]]]]]} x',  # too deep, then broken
    '{"images": [1, 23, 456, -7.5e3, true, null, "a"]}', '{"images": [1, 2] ', '{"images": [1',
])
@pytest.mark.parametrize("read", [1, 2, 3, 1 << 20])
def test_edge_cases(tmp_path, text, read):
    path = tmp_path / "a.json"
    path.write_text(text, encoding="utf-8")
    with mock.patch.object(_files, "_READ", read), mock.patch.object(_files, "_BLOCK", read):
        first, second = _both(path)
    assert first == second


@pytest.mark.parametrize("raw", [b'{"images": [1, "\xff"]}', b'{"images": [1, "\xc3',
                                 b'{"images": [[[[[[[1]]]]]]], "x": "\xff"}'])
def test_bad_encoding_is_told_as_read_json_tells_it(tmp_path, raw):
    path = tmp_path / "a.json"
    path.write_bytes(raw)
    with mock.patch.object(_files, "_READ", 4):
        first, second = _both(path)
    assert first == second and first[0] == "error" and "UTF-8" in first[1]


def test_lazy_array_is_decoded_anew_each_time(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"images": [{"id": i} for i in range(5)], "info": {}}))
    got = read_json_object(path, lazy=("images",))
    assert isinstance(got["images"], JsonArray) and len(got["images"]) == 5
    first, again = list(got["images"]), list(got["images"])
    assert first == again == [{"id": i} for i in range(5)] and first[0] is not again[0]


def test_lazy_array_holds_its_text_compressed(tmp_path):
    """A large array is kept as compressed blocks, far smaller than its text."""
    path = tmp_path / "a.json"
    entries = [{"id": i, "file_name": f"image_{i:06d}.png", "segments_info": [
        {"id": j, "category_id": j % 9, "area": 100 + j, "bbox": [j, j, 10, 10], "iscrowd": 0}
        for j in range(20)]} for i in range(2000)]
    text = json.dumps({"annotations": entries})
    path.write_text(text)
    got = read_json_object(path, lazy=("annotations",))["annotations"]
    held = sum(len(packed) + starts.itemsize * len(starts) for packed, starts in got._blocks)
    assert len(got) == 2000 and held < len(text) / 4
    assert list(got) == entries


def _both_array(path):
    """read_json and read_json_array of one file: the same document (a top-level array as a
    list) or the same error."""
    out, seen = [], []
    for read in (read_json, lambda path, limits: read_json_array(path, limits=limits,
                                                                  each=seen.append)):
        try:
            got = read(path, limits=LIMITS)
        except FormatError as exc:
            out.append(("error", str(exc)))
            continue
        if isinstance(got, JsonArray):  # each saw every element once, in order
            assert seen == list(got)
        out.append(list(got) if isinstance(got, JsonArray) else got)
    return out


@settings(max_examples=150, deadline=None)
@given(doc=st.lists(_value, max_size=5) | _value, indent=st.sampled_from([None, 0, 2]),
       cut=st.integers(0, 400), mutate=st.booleans(), read=st.integers(1, 9),
       block=st.integers(1, 40), bom=st.booleans())
def test_top_level_array_same_document_or_same_error(tmp_path_factory, doc, indent, cut, mutate,
                                                      read, block, bom):
    """A top-level array read lazily (any other document as read_json reads it), a few
    characters at a time or not: the same elements or the same error."""
    text = json.dumps(doc, indent=indent, ensure_ascii=False)
    if mutate:
        text = text[:cut] + text[cut + 1:] if cut < len(text) else text[:-1]
    path = tmp_path_factory.mktemp("j") / "a.json"
    path.write_text(("\ufeff" if bom else "") + text, encoding="utf-8")
    first, second = _both_array(path)
    assert first == second
    with mock.patch.object(_files, "_READ", read), mock.patch.object(_files, "_BLOCK", block):
        assert _both_array(path) == [first, first]


@pytest.mark.parametrize("text", [
    '[1, [[[[[2]]]]]]', '[[[[[[1]]]]]]', '[[[[[1]]]]]', '[1, 2,]', '[1 2]', '[1] tail', '[]',
    ' [ ] ', '\ufeff[{"a": [1]}]', '[1, 23, 456, -7.5e3, true, null, "a"]', '[1, 2 ', '[1',
    '{"a": [1]}', '"x"', '[', '', '[[[[[[[[1]]]]]]]], 2', '[[[[[[[[1]]]]]]]]] x',
    '[[[[[[[[1]]]]]]]], [[[[[[[[2]]]]]]]]]',  # too deep, then broken (or too deep again)
])
@pytest.mark.parametrize("read", [1, 2, 3, 1 << 20])
def test_top_level_array_edge_cases(tmp_path, text, read):
    path = tmp_path / "a.json"
    path.write_text(text, encoding="utf-8")
    with mock.patch.object(_files, "_READ", read), mock.patch.object(_files, "_BLOCK", read):
        first, second = _both_array(path)
    assert first == second


@pytest.mark.parametrize("raw", [b'[1, "\xff"]', b'[1, "\xc3', b'[[[[[[[1]]]]]]], "\xff"]'])
def test_top_level_array_bad_encoding_is_told_as_read_json_tells_it(tmp_path, raw):
    path = tmp_path / "a.json"
    path.write_bytes(raw)
    with mock.patch.object(_files, "_READ", 4):
        first, second = _both_array(path)
    assert first == second and first[0] == "error" and "UTF-8" in first[1]


def test_top_level_array_is_decoded_anew_each_time(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps([{"id": i} for i in range(5)]))
    got = read_json_array(path)
    assert isinstance(got, JsonArray) and len(got) == 5
    first, again = list(got), list(got)
    assert first == again == [{"id": i} for i in range(5)] and first[0] is not again[0]
