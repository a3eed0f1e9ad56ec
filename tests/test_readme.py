"""The README's examples run and print what it says."""

from __future__ import annotations

import contextlib
import io
import os
import re

from conftest import ROOT

from agreement.cli import main

README = (ROOT / "README.md").read_text()


def test_python_example_runs(monkeypatch):
    monkeypatch.chdir(ROOT)
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert blocks
    out = io.StringIO()
    namespace: dict = {}  # the blocks build on each other, as a reader types them
    with contextlib.redirect_stdout(out):
        for block in blocks:
            exec(compile(block, "README.md", "exec"), namespace)
    text = out.getvalue()
    assert text.startswith("Study(4 annotators x 13 images, 12 categories)\n")
    assert "road <-> sidewalk" in text  # the planted top class pair comes out first
    assert "chen draws the road / sidewalk border 41.6 px into sidewalk" in text  # as said


def test_cli_example_output_is_current(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    block = re.search(r"\$ agreement summary data/sample/batch1\n(.*?)```", README, flags=re.S)
    assert block is not None
    assert main(["summary", os.path.join("data", "sample", "batch1")]) == 0
    out = capsys.readouterr().out.splitlines()
    for line in block.group(1).splitlines():
        if line.strip() != "...":
            assert line in out, line
