"""One CLI vocabulary (the flag table of docs/cli.md is the parsers' truth) and the last line of
defence (every exception becomes one line and a documented exit code)."""

from __future__ import annotations

import argparse
import json

import pytest
from conftest import ROOT, TINY, TINY_TABLE, write_export

from agreement.cli import COMMANDS, build_parser, main
from agreement.model import Study


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _doc_table() -> dict[str, dict[str, bool]]:
    """docs/cli.md's flag x command table: {first flag: {command: takes it}}."""
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln.startswith("| option | summary")]
    assert len(lines) == 1
    start = text.splitlines().index(lines[0])
    head = [c.strip() for c in lines[0].strip("|").split("|")][1:]
    table = {}
    for row in text.splitlines()[start + 2:]:
        if not row.startswith("|"):
            break
        cells = [c.strip() for c in row.strip("|").split("|")]
        flag = cells[0].split(",")[0].strip("` ").split()[0]
        table[flag] = {cmd: cell == "yes" for cmd, cell in zip(head, cells[1:], strict=True)}
    return table


def test_docs_table_lists_every_command_and_matches_the_parsers():
    table = _doc_table()
    assert set(table) == {"-q", "--progress", "--json", "-j", "--debug", "--scheduler"}
    parsers = _subparsers()
    for flag, takes in table.items():
        assert set(takes) == set(COMMANDS)
        for command, expected in takes.items():
            assert (flag in parsers[command]._option_string_actions) is expected, (flag, command)


def test_every_command_spells_the_shared_flags_alike():
    for command, parser in _subparsers().items():
        opts = parser._option_string_actions
        assert opts["-q"] is opts["--quiet"] and opts["--json"].nargs == "?", command
        assert opts["--json"].const == "-", command
        if "-j" in opts:
            assert opts["-j"] is opts["--n-jobs"] and opts["-j"].default is None, command


@pytest.mark.parametrize("value", ["0", "-2", "two"])
def test_bad_n_jobs_is_a_usage_error(value, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["validate", "somewhere", "-j", value])
    assert exc.value.code == 2
    assert "must be a number of worker processes (1, 2, ...) or -1" in capsys.readouterr().err


@pytest.fixture
def study(tmp_path):
    for who in ("a", "b"):
        write_export(tmp_path / "study" / who, {"x.jpg": (TINY, [dict(s) for s in TINY_TABLE])})
    (tmp_path / "study" / ".DS_Store").write_bytes(b"\0")
    return tmp_path / "study"


def test_disagreement_takes_quiet_and_json(study, capsys):
    assert main(["disagreement", str(study), "-q"]) == 0  # was refused: unrecognized -q
    captured = capsys.readouterr()
    assert "Krippendorff's alpha 1.0000" in captured.out and captured.err == ""
    assert main(["disagreement", str(study), "--json", "-j", "1"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["alpha"] == 1.0 and doc["annotators"] == ["a", "b"] and captured.err == ""
    # annotators called 'a' and 'b' (the kappa matrix's axis names) once crashed this table
    assert doc["kappa"] == [{"annotator": "a", "a": None, "b": 1.0},
                            {"annotator": "b", "a": 1.0, "b": None}]
    assert doc["regions"] == []


def test_the_note_of_skipped_entries_goes_to_stderr_unless_quiet(study, capsys):
    assert main(["summary", str(study)]) == 0
    captured = capsys.readouterr()
    assert captured.err == f"note: skipped 1 entry of {study}: .DS_Store (hidden or system file)\n"
    assert "  skipped     .DS_Store" in captured.out
    assert main(["summary", str(study), "-q"]) == 0
    assert capsys.readouterr().err == ""
    assert main(["summary", str(study), "--json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert captured.err == "" and doc["comparable"] is True
    assert {"entry": ".DS_Store", "role": "skipped", "format": None,
            "detail": "hidden or system file"} in doc["entries"]


def _boom(*args, **kwargs):
    raise RuntimeError("boom")


def test_an_unexpected_exception_is_one_located_line_and_exit_3(study, capsys, monkeypatch):
    monkeypatch.setattr(Study, "annotation", _boom)
    assert main(["disagreement", str(study), "-q"]) == 3
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("agreement disagreement: internal error at annotator 'a', "
                               "image 'x.jpg': RuntimeError: boom; this is a bug in agreement")
    assert lines[0].endswith("rerun with --debug for the traceback and report it")


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_prints_the_traceback_too(study, capsys, monkeypatch, where):
    monkeypatch.setattr(Study, "annotation", _boom)
    argv = ["disagreement", str(study), "-q"]
    argv = ["--debug", *argv] if where == "before" else [*argv, "--debug"]
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert "RuntimeError: boom" in err and "the traceback is above" in err.splitlines()[-1]


def test_input_errors_stay_exit_2_and_debug_shows_their_traceback(tmp_path, capsys):
    assert main(["summary", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["--debug", "summary", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.splitlines()[-1].startswith("agreement summary: error:")


def test_memory_errors_name_where_and_exit_2(study, capsys, monkeypatch):
    def no_memory(self, annotator, image):
        raise MemoryError("Unable to allocate 37.3 GiB for an array")

    monkeypatch.setattr(Study, "annotation", no_memory)
    assert main(["disagreement", str(study), "--out", str(study.parent / "r"), "-q"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0] == ("agreement disagreement: error: annotator 'a', image 'x.jpg': not enough "
                        "memory: Unable to allocate 37.3 GiB for an array")
    assert not (study.parent / "r").exists()


def test_a_closed_stdout_stops_quietly(study, capsys, monkeypatch):
    import agreement.cli.summary as summary

    def closed(*args, **kwargs):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(summary, "emit_json", closed)
    assert main(["summary", str(study), "--json"]) == 141
    assert capsys.readouterr().err == ""


def test_the_exit_codes_are_documented():
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for code in ("| 0 |", "| 1 |", "| 2 |", "| 3 | internal error", "| 130 |", "| 141 |"):
        assert code in text
