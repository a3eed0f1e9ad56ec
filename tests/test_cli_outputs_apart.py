"""No command writes into its inputs: an output that is an input, or lies inside an input
folder, is refused before any work (exit 2, one line), and the inputs stay as they were."""

from __future__ import annotations

import pytest
from conftest import TINY, TINY_TABLE, tree_hashes, write_export

from agreement.cli import main


@pytest.fixture
def study(tmp_path):
    for who in ("a", "b"):
        write_export(tmp_path / "study" / who, {"x.jpg": (TINY, [dict(s) for s in TINY_TABLE])})
    return tmp_path / "study"


@pytest.mark.parametrize("command", [
    ["consensus", "{s}", "--out", "{s}/consensus"],
    ["consensus", "{s}", "--out", "{s}/a/../consensus"],
    ["report", "{s}", "--out", "{s}/report"],
    ["disagreement", "{s}", "--out", "{s}/dis"],
    ["disagreement", "{s}", "--consensus", "{s}/cons"],
    ["review", "{s}", "--out", "{s}/a/queue.csv"],
    ["validate", "{s}", "--csv", "{s}/a/panoptic/findings.csv"],
    ["summary", "{s}", "--json", "{s}/a/panoptic.json"],
    ["validate", "{s}", "--json", "{s}/categories.json"],
    ["compare", "{s}", "{s}", "--csv", "{s}/cmp"],
])
def test_an_output_inside_the_study_is_refused(study, capsys, command):
    before = tree_hashes(study)
    args = [part.format(s=study) for part in command]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    flag = next(a for a in command if a.startswith("--"))
    assert err[0].startswith(f"agreement {command[0]}: error: {flag} must be outside the input "
                             f"folder '{study}', got '{args[args.index(flag) + 1]}'")
    assert tree_hashes(study) == before  # nothing written, not even a temporary folder


def test_a_result_file_beside_the_exports_is_fine_but_never_over_an_export(study, capsys):
    # a new findings file in the study folder is skipped (with a note) when the study is read
    assert main(["validate", str(study), "--csv", str(study / "findings.csv"), "-q"]) == 0
    assert (study / "findings.csv").read_text().startswith("kind,severity,annotator,")
    assert main(["validate", str(study), "--csv", str(study / "findings.csv"), "-q"]) == 0
    # an export file of the study folder is never replaced
    export = study / "c.json"
    export.write_bytes((study / "a" / "panoptic.json").read_bytes())
    before = tree_hashes(study)
    assert main(["summary", str(study), "--json", str(export)]) == 2
    assert capsys.readouterr().err.startswith(
        f"agreement summary: error: --json must be outside the input folder '{study}', got "
        f"'{export}'")
    assert tree_hashes(study) == before


def test_pq_never_overwrites_its_reference(study, capsys):
    ref, other = study / "a" / "panoptic.json", study / "b" / "panoptic.json"
    before = ref.read_bytes()
    assert main(["pq", str(ref), str(other), "--json", str(ref)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"agreement pq: error: --json must not be the input '{ref}': inputs are "
                   "never written to; write it elsewhere"]
    assert ref.read_bytes() == before


def test_an_output_beside_the_study_is_fine(study, tmp_path, capsys):
    assert main(["review", str(study), "--out", str(tmp_path / "queue.csv"), "-q"]) == 0
    assert (tmp_path / "queue.csv").read_text().startswith("rank,image,kind,")


def test_an_output_under_a_file_is_refused_before_any_work(study, tmp_path, capsys):
    (tmp_path / "note.txt").write_text("x")
    out = tmp_path / "note.txt" / "queue.csv"
    assert main(["review", str(study), "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"agreement review: error: --out cannot be written: '{out}' lies under "
        f"'{tmp_path / 'note.txt'}', which is not a folder"]


def test_a_read_only_place_is_refused_before_any_work(study, tmp_path, capsys, monkeypatch):
    import tempfile

    import agreement.study.consensus_maps as consensus_maps

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    def never(*args, **kwargs):  # the long work must not start
        raise AssertionError("export_consensus called")

    monkeypatch.setattr(tempfile, "mkdtemp", denied)  # as a read-only folder answers (not root)
    monkeypatch.setattr(consensus_maps, "export_consensus", never)
    out = tmp_path / "ro" / "cons"
    assert main(["consensus", str(study), "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"agreement consensus: error: --out cannot be written: nothing can be created in "
        f"'{tmp_path}' (Permission denied)"]
    assert not out.parent.exists()


@pytest.mark.parametrize("flag", ["--review-rows", "--bootstrap", "--max-examples"])
def test_report_counts_are_checked_when_parsed(study, tmp_path, capsys, flag):
    with pytest.raises(SystemExit) as exit_:
        main(["report", str(study), "--out", str(tmp_path / "r"), flag, "-1"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"error: argument {flag}: must be a count (0, 1, ...), got '-1'" in err
    assert not (tmp_path / "r").exists()


def test_a_photos_path_that_is_not_a_folder_says_what_it_is(study, tmp_path, capsys):
    (tmp_path / "photo.jpg").write_bytes(b"x")
    for given, what in ((tmp_path / "photo.jpg", "a file"), (tmp_path / "none", "no such folder")):
        assert main(["report", str(study), "--out", str(tmp_path / "r"), "--images",
                     str(given)]) == 2
        assert capsys.readouterr().err.strip().splitlines() == [
            f"agreement report: error: images folder must be a folder of photos, got "
            f"'{given}' ({what})"]


def test_disagreement_top_is_a_count(study, capsys):
    with pytest.raises(SystemExit):
        main(["disagreement", str(study), "--top", "-1"])
    assert "argument --top: must be a count (0, 1, ...), got '-1'" in capsys.readouterr().err
