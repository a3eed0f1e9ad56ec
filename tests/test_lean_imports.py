"""``agreement pq`` and ``agreement validate`` import only what they need.

pandas (~0.2 s), matplotlib and scipy.io (~0.2 s, BSDS only) once cost ``agreement pq`` more than
its evaluation. Each command runs in a fresh interpreter and lists the heavy modules it loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REF = Path(__file__).parent / "data" / "reference" / "coco_real"
A = REF / "annotator_a" / "panoptic.json"
B = REF / "annotator_b" / "panoptic.json"
SAMPLE = Path(__file__).parents[1] / "data" / "sample" / "batch1"

_PROBE = """
import json, sys
from agreement.cli import main
code = main(sys.argv[1:])
heavy = ("pandas", "matplotlib", "scipy", "scipy.io", "scipy.ndimage", "scipy.optimize", "tqdm")
print(json.dumps([code, [m for m in heavy if m in sys.modules]]))
"""


def _loaded(*argv: str) -> tuple[int, set[str]]:
    out = subprocess.run([sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True,
                         check=True).stdout
    code, mods = json.loads(out.strip().splitlines()[-1])
    return code, set(mods)


def test_import_agreement_is_light():
    out = subprocess.run([sys.executable, "-c", "import sys, agreement; print(sorted(m for m in "
                          "('pandas', 'scipy', 'matplotlib') if m in sys.modules))"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("boundary", [True, False], ids=["boundary", "no-boundary"])
def test_pq_needs_neither_pandas_nor_scipy(boundary, tmp_path):
    argv = ["pq", str(A), str(B), "--ref-png-dir", str(A.parent / "png"),
            "--other-png-dir", str(B.parent / "png"), "--per-class",
            "--json", str(tmp_path / "pq.json")]
    code, mods = _loaded(*argv, *([] if boundary else ["--no-boundary"]))
    assert code == 0 and (tmp_path / "pq.json").exists()
    assert mods == set()


@pytest.mark.skipif(not SAMPLE.is_dir(), reason="the sample study is not there")
def test_validate_needs_neither_pandas_nor_matplotlib_nor_scipy_io(tmp_path):
    code, mods = _loaded("validate", str(SAMPLE), "--all", "--json", str(tmp_path / "v.json"))
    assert code in (0, 1) and (tmp_path / "v.json").exists()
    # scipy.ndimage stays: connected components of thing segments (crowd candidates)
    assert mods.isdisjoint({"pandas", "matplotlib", "scipy.io", "tqdm"})


@pytest.mark.skipif(not SAMPLE.is_dir(), reason="the sample study is not there")
def test_validate_csv_still_writes_the_table(tmp_path):
    _, mods = _loaded("validate", str(SAMPLE), "-q", "--csv", str(tmp_path / "f.csv"))
    assert "pandas" in mods  # the CSV is the findings table: pandas is loaded for it only
    assert (tmp_path / "f.csv").read_text().startswith("kind,severity,annotator,file,image,")
