"""The ``agreement`` command line: summary output and exit codes."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import CATEGORIES, ROOT, SAMPLE, TINY, TINY_TABLE, tree_hashes, write_export

from agreement.cli import COMMANDS, main


def test_summary_of_the_sample(capsys):
    before = tree_hashes(SAMPLE / "batch1")
    assert main(["summary", str(SAMPLE / "batch1")]) == 0
    assert tree_hashes(SAMPLE / "batch1") == before  # inputs are never modified
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "Study(4 annotators x 13 images, 12 categories)"
    assert lines[1] == "things (5): person, rider, car, truck, bicycle"
    assert lines[2].startswith("stuff (7): road, sidewalk, building")
    rows = {line.split()[0]: line.split()[1:4] for line in lines[4:9]}
    assert rows["alice"][:2] == ["13", "0"] and rows["dana"][:2] == ["12", "1"]
    assert "1 (image, annotator) pair is missing:" in out
    assert lines[-3].split() == ["street_013.jpg", "dana"]
    # what the folder held: every annotator entry with its format, the photos beside it
    held = out[out.index("holds:"):].splitlines()
    assert held[1].split() == ["annotator", "alice/panoptic.json", "alice,", "coco_panoptic"]
    assert held[5].split()[:2] == ["photos", str(SAMPLE / "images")]
    assert lines[-1].startswith("ready to compare")


def test_summary_of_a_complete_study_lists_nothing_missing(tmp_path, capsys):
    for who in ("a", "b"):
        write_export(tmp_path / who, {"x.jpg": (TINY, [dict(s) for s in TINY_TABLE])})
    assert main(["summary", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Study(2 annotators x 1 images, 3 categories)" in out and "missing:" not in out


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("nofolder", "study path must be a folder of annotator exports"),
        ("badjson", "file must be valid JSON"),
        ("escape", "file name must stay inside the dataset folder"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, setup, message):
    study = tmp_path / "study"
    if setup != "nofolder":
        path = write_export(study / "a", {"x.jpg": (TINY, [dict(s) for s in TINY_TABLE])})
        text = path.read_text()
        path.write_text(text[:-3] if setup == "badjson" else text.replace('"x.png"', '"../x.png"'))
    assert main(["summary", str(study)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("agreement summary: error: ") and message in err[0]


def test_usage_errors_exit_2():
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["summary"])
    assert exc.value.code == 2


def test_every_command_has_help(capsys):
    for name in COMMANDS:
        with pytest.raises(SystemExit) as exc:
            main([name, "--help"])
        assert exc.value.code == 0
        assert f"usage: agreement {name}" in capsys.readouterr().out


def test_python_dash_m_runs_the_cli_without_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "agreement", "summary", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_exports_disagreeing_only_on_thing_or_stuff_get_the_right_hint(tmp_path, capsys):
    # a Datumaro panoptic export says isthing 0 for every class: car is stuff there
    flat = [{**c, "isthing": 0} for c in CATEGORIES]
    write_export(tmp_path / "a", {"x.jpg": (TINY, [dict(s) for s in TINY_TABLE])})
    write_export(tmp_path / "b", {"x.jpg": (TINY, [dict(s) for s in TINY_TABLE])},
                 categories=flat)
    assert main(["summary", str(tmp_path)]) == 2
    (err,) = capsys.readouterr().err.strip().splitlines()
    assert err.endswith(
        f"category 'car' must be a thing as in annotator 'a', file '{tmp_path / 'a'}"
        "/panoptic.json', got stuff (both files state isthing: COCO panoptic files keep their "
        "categories: correct the isthing of one of them)")
