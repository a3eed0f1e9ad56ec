"""The public top-level names and the photo helper."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import agreement
from agreement.errors import FormatError, PathEscapeError
from agreement.io import read_photo


def test_every_public_name_resolves():
    for name in agreement.__all__:
        assert getattr(agreement, name) is not None, name
    assert set(agreement.__all__) <= set(dir(agreement))
    for name in ("evaluate", "disagreement", "consensus", "validate", "build_report"):
        assert callable(getattr(agreement, name))


def test_no_module_is_named_like_a_function_it_exports():
    import importlib
    import pkgutil
    import types

    import agreement.image.voting
    import agreement.study.disputes
    import agreement.study.validation
    from agreement.image.voting import consensus
    from agreement.study.disputes import disagreement
    from agreement.study.validation import validate

    assert agreement.consensus is consensus and agreement.validate is validate
    assert agreement.disagreement is disagreement
    assert not any(isinstance(getattr(agreement, n), types.ModuleType) for n in agreement.__all__)
    clashes = []
    for info in pkgutil.walk_packages(agreement.__path__, "agreement."):
        if info.name.startswith("agreement.cli") or info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        short = info.name.rsplit(".", 1)[-1]
        if short in getattr(module, "__all__", ()):
            clashes.append(info.name)
    assert clashes == []


def test_import_stays_light():
    code = ("import sys, agreement; heavy = {'matplotlib', 'agreement.study', "
            "'agreement.report.build', 'jinja2'} & set(sys.modules); print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_read_photo(tmp_path):
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    Image.fromarray(rgb).save(tmp_path / "street_001.png")
    Image.fromarray(rgb[..., 0], mode="L").save(tmp_path / "gray.png")
    # an annotation named .png finds the photo by name; another suffix by stem
    assert np.array_equal(read_photo(tmp_path, "street_001.png"), rgb)
    assert np.array_equal(read_photo(tmp_path, "street_001.jpg"), rgb)
    assert np.array_equal(read_photo(tmp_path / "street_001.png"), rgb)
    gray = read_photo(tmp_path, "gray.png")
    assert gray.dtype == np.uint8 and gray.shape == (2, 3, 3)
    assert (gray[..., 0] == rgb[..., 0]).all() and (gray[..., 2] == rgb[..., 0]).all()
    assert read_photo(tmp_path, "missing.jpg") is None
    assert read_photo(None, "street_001.png") is None
    assert read_photo(tmp_path / "nope.png") is None


def test_read_photo_errors(tmp_path):
    (tmp_path / "images").mkdir()
    Image.new("RGB", (2, 2)).save(tmp_path / "secret.png")
    with pytest.raises(PathEscapeError, match="must stay inside the dataset folder"):
        read_photo(tmp_path / "images", "../secret.png")
    with pytest.raises(PathEscapeError, match="must stay inside"):
        read_photo(tmp_path / "images", str(tmp_path / "secret.png"))
    (tmp_path / "images" / "bad.jpg").write_text("not an image")
    with pytest.raises(FormatError, match="photo must be a readable image"):
        read_photo(tmp_path / "images", "bad.jpg")
