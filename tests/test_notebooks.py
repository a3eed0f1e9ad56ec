"""Every notebook in notebooks/ runs top to bottom in a kernel of this test environment.

The kernel is this interpreter (``sys.executable``): a ``python3`` kernelspec pointing at it is
written to a temporary Jupyter data dir that takes precedence (``JUPYTER_PATH``), so a system-wide
``python3`` kernel of another Python can never be picked up. Notebooks are committed without
outputs, and ``scripts/make_notebooks.py`` regenerates them exactly.
"""

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory, monkeypatch_module):
    data = tmp_path_factory.mktemp("jupyter")
    spec = data / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (agreement tests)", "language": "python",
        "metadata": {"debugger": False}}))
    monkeypatch_module.setenv("JUPYTER_PATH", str(data))
    monkeypatch_module.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    return data


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_there_are_notebooks():
    names = [p.name for p in NOTEBOOKS]
    assert names == ["01_explore_agreement.ipynb", "02_compare_batches.ipynb",
                     "03_guideline_report.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_committed_without_outputs(path):
    text = path.read_text(encoding="utf-8")
    assert '"output_type"' not in text
    nb = nbformat.reads(text, as_version=4)
    nbformat.validate(nb)
    assert all(c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")


def test_notebooks_match_their_generator(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_notebooks.py"), "--out",
                    str(tmp_path)], check=True)
    for path in NOTEBOOKS:
        assert (tmp_path / path.name).read_text(encoding="utf-8") == path.read_text(
            encoding="utf-8"), f"{path.name} differs from scripts/make_notebooks.py"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, kernel_env):
    if not (ROOT / "data" / "sample" / "batch1").is_dir():
        pytest.skip("data/sample is not there")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=180, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    stderr = [o.get("text", "") for c in nb.cells if c.cell_type == "code"
              for o in c.get("outputs", []) if o.get("name") == "stderr"]
    assert not any("Warning" in s for s in stderr), stderr
