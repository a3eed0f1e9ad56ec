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


def test_function_names_survive_submodule_imports():
    # the submodules agreement.consensus / .validate / .disagreement share a function's name
    import agreement.consensus
    import agreement.disagreement
    import agreement.validate
    from agreement.consensus import consensus
    from agreement.pixel_study import disagreement
    from agreement.validate import validate

    assert agreement.consensus is consensus and agreement.validate is validate
    assert agreement.disagreement is disagreement
    from agreement.disagreement import heatmaps  # the module stays importable

    assert callable(heatmaps)


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
