"""Fuzz suite: every reader, fed mutations of real exports, ends in one of our errors or reads.

Hypothesis mutates the real fixtures of each format (tests/data/fixtures and small generated
files): values replaced by other JSON types, huge / negative / non-finite numbers, digit strings,
deep nesting, keys deleted, lists duplicated; XML attributes rewritten and elements dropped;
PNG, ``.npy`` and ``.mat`` bytes flipped and truncated; file names with spaces, unicode and
non-UTF-8 bytes. The property: reading (and decoding every image) either succeeds or raises an
:class:`~agreement.errors.AgreementError` that names the file, fits on one line and is not an
:class:`~agreement.errors.UnexpectedInputError` (the readers' safety net: hitting it means a check
is missing). Nothing else may escape.

Budgets (``HYPOTHESIS_PROFILE``): ``fuzz-ci`` (the default, inside ``make test``: 100 examples
per case, derandomised, about 20 s), ``soak`` (``make fuzz``: 2,000 examples per case, random,
about 5 minutes). The limits are lowered
(1 MP images, 1 MB files) so that a mutated size is refused fast instead of painting a large
canvas; the limits themselves are tested in ``test_hostile_inputs.py``.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.io
from _hostile import FIXTURES, coco_instances, cvat_mask, labelstudio, png_bytes, read_all
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agreement.errors import AgreementError, UnexpectedInputError

settings.register_profile(
    "fuzz-ci", max_examples=100, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile(
    "soak", max_examples=2000, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "fuzz-ci")
FUZZ = settings.get_profile(PROFILE if PROFILE in ("fuzz-ci", "soak") else "fuzz-ci")

LIMITS = {"AGREEMENT_MAX_PIXELS": "1000000", "AGREEMENT_MAX_FILE_BYTES": "1000000",
          "AGREEMENT_MAX_VERTICES": "5000", "AGREEMENT_MAX_OUTLINE": "100000"}


@pytest.fixture(autouse=True)
def _small_limits(monkeypatch):
    for key, value in LIMITS.items():
        monkeypatch.setenv(key, value)


def check(fmt: str, path: Path) -> None:
    """The property: success, or one of our errors naming the file on one line."""
    try:
        read_all(fmt, path)
    except UnexpectedInputError as exc:  # the safety net caught something no check foresaw
        raise AssertionError(f"unforeseen failure: {exc}") from exc
    except AgreementError as exc:
        text = str(exc)
        assert "\n" not in text, text
        folder = path if path.is_dir() else path.parent  # the export or a file beside it (PNG)
        assert f"file {str(folder)!r}"[:-1] in text, text


# -- mutations of JSON documents --------------------------------------------------------------

NUMBERS = st.one_of(
    st.integers(-3, 3), st.integers(-(2**70), 2**70),
    st.sampled_from([2**31, 2**31 - 1, 2**63, 2**63 - 1, 2**64, 10**30, 65_536, 100_000]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.5, 1.5, -0.0, 1e308]))
TEXTS = st.one_of(st.text(max_size=12), st.sampled_from(
    ["", "1", "1.5", "-1", "nan", "Infinity", "\u0000", "\u0662", "0j2", "o" * 30, "a/../b",
     "../../etc/passwd", "/abs.png", "x\\y.png", "data:image/png;base64,AAAA", "http://[::1"]))
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXTS)
VALUES = st.recursive(SCALARS, lambda c: st.lists(c, max_size=4) | st.dictionaries(
    st.text(max_size=6), c, max_size=3), max_leaves=8)


def nested(depth: int) -> Any:
    value: Any = 1
    for k in range(depth):
        value = [value] if k % 2 else {"a": value}
    return value


def _paths(doc: Any, limit: int = 400) -> list[tuple]:
    """Paths to the first ``limit`` nodes of ``doc`` (breadth first)."""
    out: list[tuple] = [()]
    queue: list[tuple[tuple, Any]] = [((), doc)]
    while queue and len(out) < limit:
        path, node = queue.pop(0)
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(
            node, list) else ()
        for key, child in items:
            out.append((*path, key))
            queue.append(((*path, key), child))
    return out


def _get(doc: Any, path: tuple) -> Any:
    for key in path:
        doc = doc[key]
    return doc


@st.composite
def mutated(draw: st.DrawFn, doc: Any) -> Any:
    """``doc`` with one to three random changes."""
    doc = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths[1:] if len(paths) > 1 else paths))
        if not path:
            return draw(VALUES)
        parent, key = _get(doc, path[:-1]), path[-1]
        value = parent[key]
        op = draw(st.sampled_from(["replace", "replace", "tweak", "delete", "duplicate",
                                   "deep"]))
        if op == "replace":
            parent[key] = draw(VALUES)
        elif op == "tweak" and isinstance(value, int | float) and not isinstance(value, bool):
            parent[key] = draw(st.sampled_from([
                -value, value * 1000, value + 1, value - 1, float(value), str(value),
                value + 0.5, value * 2**40]))
        elif op == "delete":
            del parent[key]
        elif op == "duplicate" and isinstance(value, list):
            parent[key] = value * draw(st.integers(2, 3))
        elif op == "deep":
            parent[key] = nested(draw(st.integers(50, 3000)))
        else:
            parent[key] = draw(VALUES)
    return doc


def _dump(doc: Any) -> str:
    try:
        return json.dumps(doc)
    except (ValueError, RecursionError):
        return "[" * 5000  # a document too deep even for json.dumps: a broken one


def _json_case(fmt: str, doc: Any, folder: Path, name: str = "export") -> Path:
    path = folder / f"{name}.json"
    path.write_text(_dump(doc), encoding="utf-8", errors="surrogatepass")
    return path


# -- the real fixtures -------------------------------------------------------------------------

def _load(rel: str) -> Any:
    return json.loads((FIXTURES / rel).read_text())


INSTANCES = [
    _load("coco_panoptic_and_instances/datumaro/coco_instances/annotations/instances_train.json"),
    _load("coco_panoptic/panopticapi/sample_data/panoptic_coco_detection_format.json"),
    coco_instances(),
]
LABEL_STUDIO = [
    _load("label_studio/sdk_tests/test_export_coco/data.json"),
    _load("label_studio/sdk_tests/test_export_yolo/data_polygons.json"),
    _load("label_studio/sdk_tests/test_export_csv/csv_test.json"),
    _load("label_studio/brush_ml_backend/test_brush_labels.json"),
    labelstudio(),
]
PANOPTIC_DIR = FIXTURES / "coco_panoptic_and_instances/datumaro/coco_panoptic/annotations"
PANOPTIC = json.loads((PANOPTIC_DIR / "panoptic_val.json").read_text())


@FUZZ
@given(data=st.data(), which=st.integers(0, len(INSTANCES) - 1))
def test_coco_instances(data, which):
    doc = data.draw(mutated(INSTANCES[which]))
    with tempfile.TemporaryDirectory() as tmp:
        check("coco_instances", _json_case("coco_instances", doc, Path(tmp)))


@FUZZ
@given(data=st.data(), which=st.integers(0, len(LABEL_STUDIO) - 1))
def test_labelstudio(data, which):
    doc = data.draw(mutated(LABEL_STUDIO[which]))
    with tempfile.TemporaryDirectory() as tmp:
        check("labelstudio", _json_case("labelstudio", doc, Path(tmp)))


@FUZZ
@given(data=st.data())
def test_coco_panoptic_json(data):
    doc = data.draw(mutated(PANOPTIC))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "pan"
        folder.mkdir()
        (folder / "b.png").write_bytes((PANOPTIC_DIR / "panoptic_val" / "b.png").read_bytes())
        check("coco_panoptic", _json_case("coco_panoptic", doc, Path(tmp), "pan"))


# -- raw bytes: truncation and flipped bytes of every file kind ------------------------------

@st.composite
def damaged(draw: st.DrawFn, raw: bytes) -> bytes:
    """``raw`` truncated, with bytes flipped, or with a stretch repeated."""
    op = draw(st.sampled_from(["truncate", "flip", "repeat", "flip"]))
    if op == "truncate":
        return raw[: draw(st.integers(0, max(len(raw) - 1, 0)))]
    if op == "repeat":
        start = draw(st.integers(0, len(raw) - 1))
        return raw[:start] + raw[start:start + 64] * draw(st.integers(2, 50)) + raw[start:]
    out = bytearray(raw)
    for _ in range(draw(st.integers(1, 8))):
        out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
    return bytes(out)


RAW_JSON = {
    "coco_instances": json.dumps(INSTANCES[0]).encode(),
    "labelstudio": json.dumps(LABEL_STUDIO[4]).encode(),
}
RAW_XML = [(FIXTURES / p).read_bytes() for p in (
    "cvat/datumaro_export_project/annotations.xml", "cvat/datumaro_export_task/train.xml")] + [
    cvat_mask(points="1,1;8,1;8,8").encode()]


@FUZZ
@given(data=st.data(), fmt=st.sampled_from(sorted(RAW_JSON)))
def test_json_bytes(data, fmt):
    raw = data.draw(damaged(RAW_JSON[fmt]))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.json"
        path.write_bytes(raw)
        check(fmt, path)


@FUZZ
@given(data=st.data(), which=st.integers(0, len(RAW_XML) - 1))
def test_cvat_bytes(data, which):
    raw = data.draw(damaged(RAW_XML[which]))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.xml"
        path.write_bytes(raw)
        check("cvat", path)


ATTRIBUTES = st.one_of(TEXTS, NUMBERS.map(str), st.sampled_from(
    ["", "-1", "1e9", "99999999999999999999", "1,2,3", "0," * 50, "nan,nan;1,1;2,2",
     "1,1;1e300,1;2,2", "\u0662", "1_0", " 4", "+4"]))


@FUZZ
@given(data=st.data())
def test_cvat_attributes(data):
    from xml.etree import ElementTree as ET
    root = ET.fromstring(data.draw(st.sampled_from(RAW_XML)))
    elements = [el for el in root.iter() if el.attrib] or [root]
    for _ in range(data.draw(st.integers(1, 3))):
        el = data.draw(st.sampled_from(elements))
        key = data.draw(st.sampled_from([*sorted(el.attrib), "width", "points", "rle"]))
        el.set(key, data.draw(ATTRIBUTES))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.xml"
        path.write_bytes(ET.tostring(root))
        check("cvat", path)


def _label_map_png() -> bytes:
    return png_bytes(np.arange(48, dtype=np.uint8).reshape(6, 8) % 5)


def _mat() -> bytes:
    gt = np.empty((1, 2), dtype=object)
    for k in range(2):
        gt[0, k] = {"Segmentation": (np.arange(30, dtype=np.uint16).reshape(5, 6) % 4) + 1,
                    "Boundaries": np.zeros((5, 6), np.uint8)}
    with tempfile.TemporaryDirectory() as tmp:
        scipy.io.savemat(Path(tmp) / "m.mat", {"groundTruth": gt}, do_compression=True)
        return (Path(tmp) / "m.mat").read_bytes()


def _npy() -> bytes:
    import io
    buf = io.BytesIO()
    np.save(buf, np.arange(24, dtype=np.int32).reshape(4, 6) % 3)
    return buf.getvalue()


BINARIES = {"png": _label_map_png(), "npy": _npy(), "mat": _mat()}


@FUZZ
@given(data=st.data(), kind=st.sampled_from(sorted(BINARIES)))
def test_binary_files(data, kind):
    raw = data.draw(damaged(BINARIES[kind]))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "a"
        folder.mkdir()
        (folder / f"x.{kind}").write_bytes(raw)
        check("bsds" if kind == "mat" else "label_maps", folder)


@FUZZ
@given(data=st.data())
def test_labelstudio_bitmask_bytes(data):
    from _hostile import bitmask_result
    png = png_bytes(np.full((10, 10, 4), 255, np.uint8), "RGBA")
    raw = data.draw(damaged(png))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.json"
        path.write_text(json.dumps(labelstudio([bitmask_result(raw)])))
        check("labelstudio", path)


# -- file names ---------------------------------------------------------------------------------

NAMES = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"),
            min_size=1, max_size=20),
    st.binary(min_size=1, max_size=12).filter(lambda b: b"/" not in b and b"\0" not in b).map(
        os.fsdecode),
    st.sampled_from(["a b", " lead", "trail ", "-dash", "é.png", "日本", "x\udcff"]))


@FUZZ
@given(folder=NAMES, stem=NAMES)
def test_label_map_file_names(folder, stem):
    if folder in (".", "..") or stem in (".", ".."):
        return
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = Path(tmp) / folder
            path.mkdir()
            (path / f"{stem}.png").write_bytes(_label_map_png())
        except (OSError, UnicodeEncodeError, ValueError):
            return  # a name this file system refuses: nothing to read
        check("label_maps", path)


# -- study files (JSON and TOML) ------------------------------------------------------------------

STUDY_JSON = {"name": "s", "annotators": {"a": {"path": "a.json"}, "b": {"path": "b.json",
              "format": "coco_instances"}}, "images": ["a.png"], "align": "file_name"}
STUDY_TOML = (b'name = "s"\nimages = ["a.png"]\n[annotators.a]\npath = "a.json"\n'
              b'[annotators.b]\npath = "b.json"\nformat = "coco_instances"\n')


def check_study(path: Path) -> None:
    from agreement.io.study_file import read_study_file
    try:
        read_study_file(path)
    except UnexpectedInputError as exc:
        raise AssertionError(f"unforeseen failure: {exc}") from exc
    except AgreementError as exc:
        assert "\n" not in str(exc), str(exc)


@FUZZ
@given(data=st.data(), toml=st.booleans())
def test_study_files(data, toml):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in ("a", "b"):
            (folder / f"{name}.json").write_text(json.dumps(coco_instances()))
        if toml:
            path = folder / "study.toml"
            path.write_bytes(data.draw(damaged(STUDY_TOML)))
        else:
            path = folder / "study.json"
            path.write_text(_dump(data.draw(mutated(STUDY_JSON))), errors="surrogatepass")
        check_study(path)
