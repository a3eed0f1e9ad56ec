"""Any file name a file system allows works in every command (issue 17, item 4).

Non-UTF-8 bytes in folder and PNG names reach Python as lone surrogates; ``agreement report``
crashed drawing them (matplotlib cannot) while ``summary`` and ``validate`` handled them. Now
every command runs; pages and figures show the undecodable bytes as U+FFFD, CSVs as ``\\udcXX``.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from agreement.cli import main

NAMES = {b"al\xffice": (16, [b"im\xfe1", "caf\u00e9 2".encode()]),
         "b\u00f6b with spaces".encode(): (8, [b"im\xfe1", "caf\u00e9 2".encode()])}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = os.fsencode(tmp_path_factory.mktemp("names")) + b"/study"
    try:
        for folder, (step, images) in NAMES.items():
            os.makedirs(os.path.join(root, folder))
            for image in images:
                ids = (np.arange(64).reshape(8, 8) // step).astype(np.uint8)
                Image.fromarray(ids).save(os.path.join(root, folder, image + b".png"))
    except (OSError, UnicodeError):
        pytest.skip("this file system refuses non-UTF-8 names")
    return os.fsdecode(root)


@pytest.mark.parametrize("command", [
    ["summary"], ["validate"], ["consistency"], ["disagreement", "--out", "{tmp}/dis"],
    ["report", "--out", "{tmp}/rep", "-q", "--bootstrap", "0", "--no-boundary"],
], ids=["summary", "validate", "consistency", "disagreement", "report"])
def test_every_command_runs_on_non_utf8_names(study, tmp_path, command, capsys):
    args = [part.format(tmp=tmp_path) for part in command]
    assert main([args[0], study, *args[1:]]) == 0, capsys.readouterr().err
    if args[0] == "report":
        html = (tmp_path / "rep" / "report.html").read_text(encoding="utf-8")
        assert "al\ufffdice" in html
    if args[0] == "disagreement":
        regions = pd.read_csv(tmp_path / "dis" / "regions.csv")
        assert set(regions.image) <= {"im\\udcfe1", "caf\u00e9 2"}


def test_compare_runs_on_non_utf8_names(study, tmp_path, capsys):
    code = main(["compare", study, study, "--n-boot", "20", "--n-permutations", "20", "-q",
                 "--csv", str(tmp_path / "cmp")])
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "cmp" / "classes.csv").is_file()
