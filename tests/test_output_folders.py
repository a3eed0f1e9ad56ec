"""All-or-nothing output folders: the swap, leftovers of killed runs, concurrent runs, and real
runs killed with SIGKILL at random (seeded) moments.

After a kill at any moment an output folder must hold the previous complete output or the new
complete one (or, for the first run, be absent); the next run removes the killed run's
leftovers.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from test_pixel_study import CATS, make_study

from agreement import write_coco_panoptic
from agreement.errors import AgreementError
from agreement.io import _outdir
from agreement.io._files import atomic_write
from agreement.io._outdir import (
    MARKER,
    check_output_folder,
    clean_leftovers,
    output_folder,
    stale_leftovers,
)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture(params=["exchange", "two-renames"])
def swap_mode(request, monkeypatch):
    if request.param == "two-renames":
        monkeypatch.setattr(_outdir, "_renameat2", None)
    elif _outdir._renameat2 is None:
        pytest.skip("renameat2 is not available here")
    return request.param


def test_write_replace_and_refuse(tmp_path, swap_mode):
    out = tmp_path / "out"
    with output_folder(out) as folder:
        (folder / "a.csv").write_text("1\n")
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "a.csv"]
    with output_folder(out) as folder:
        (folder / "b.csv").write_text("2\n")
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "b.csv"]  # a.csv is gone
    assert hidden(tmp_path) == []
    foreign = tmp_path / "thesis"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("keep")
    with pytest.raises(AgreementError, match="must be empty or hold a previous output"):
        with output_folder(foreign):
            raise AssertionError("never reached")
    assert (foreign / "thesis.tex").read_text() == "keep"
    (tmp_path / "file").write_text("x")
    with pytest.raises(AgreementError, match="which is a file"):
        check_output_folder(tmp_path / "file")


def test_a_failure_keeps_the_previous_output(tmp_path, swap_mode):
    out = tmp_path / "out"
    with output_folder(out) as folder:
        (folder / "a.csv").write_text("old\n")
    with pytest.raises(RuntimeError):
        with output_folder(out) as folder:
            (folder / "a.csv").write_text("new, half")
            raise RuntimeError("boom")
    assert (out / "a.csv").read_text() == "old\n"
    assert hidden(tmp_path) == []


def test_leftovers_of_dead_processes_are_removed_live_ones_kept(tmp_path):
    out = tmp_path / "out"
    pid = dead_pid()
    stale = [tmp_path / f".out.agreement-tmp-{pid}-abcd", tmp_path / f".out.agreement-old-{pid}-01"]
    live = tmp_path / f".out.agreement-tmp-{os.getpid()}-beef"
    other = tmp_path / f".other.agreement-tmp-{pid}-abcd"
    for p in (*stale, live, other):
        p.mkdir()
    (tmp_path / f".out.agreement-tmp-{pid}-cafe").write_text("a killed atomic_write")
    assert len(stale_leftovers(out)) == 3
    with output_folder(out) as folder:
        (folder / "a.csv").write_text("1\n")
    assert hidden(tmp_path) == sorted([live.name, other.name])


def test_a_target_lost_between_two_renames_is_restored(tmp_path):
    out = tmp_path / "out"
    old = tmp_path / f".out.agreement-old-{dead_pid()}-01"
    old.mkdir()
    (old / MARKER).write_text("agreement\n")
    (old / "a.csv").write_text("previous\n")
    clean_leftovers(out)
    assert (out / "a.csv").read_text() == "previous\n"
    assert hidden(tmp_path) == []


def test_atomic_write_removes_the_temporaries_of_killed_runs(tmp_path):
    pid = dead_pid()
    (tmp_path / f".x.json.agreement-tmp-{pid}-abcd").write_text("{half")
    with atomic_write(tmp_path / "x.json") as tmp:
        tmp.write_text("{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]


def test_files_written_into_a_folder_being_filled_search_no_leftovers(tmp_path, monkeypatch):
    """An output folder is new: its files need no search for leftovers of killed runs. That
    search lists the folder, so doing it per file made a consensus export of n images cost
    n**2 (10,000 images: 586 s, then 93 s). Outside such a folder, each write still searches."""
    calls = []
    real = _outdir.stale_leftovers
    monkeypatch.setattr(_outdir, "stale_leftovers", lambda t: calls.append(Path(t).name) or
                        real(t))
    with output_folder(tmp_path / "out") as folder:
        assert calls == ["out"]
        for k in range(5):
            with atomic_write(folder / "votes" / f"{k}.png") as tmp:
                tmp.write_bytes(b"x")
        assert _outdir.in_fresh_folder(folder / "votes" / "0.png")
    assert calls == ["out"]
    assert sorted(p.name for p in (tmp_path / "out" / "votes").iterdir()) == [
        f"{k}.png" for k in range(5)]
    assert not _outdir.in_fresh_folder(tmp_path / "out" / "votes" / "0.png")
    pid = dead_pid()
    (tmp_path / "out" / f".x.json.agreement-tmp-{pid}-abcd").write_text("{half")
    with atomic_write(tmp_path / "out" / "x.json") as tmp:
        tmp.write_text("{}")
    assert calls == ["out", "x.json"]
    assert hidden(tmp_path / "out") == [MARKER]
    with pytest.raises(RuntimeError), output_folder(tmp_path / "out2") as folder:
        raise RuntimeError
    assert not _outdir._FRESH


# -- killed and concurrent writers --------------------------------------------------------------

WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from agreement.io import _outdir
    if sys.argv[2] == "two-renames":
        _outdir._renameat2 = None
    out, start = Path(sys.argv[1]), int(sys.argv[3])
    for version in range(start, start + int(sys.argv[4])):
        with _outdir.output_folder(out) as folder:
            for k in range(20):
                (folder / f"part{k}.txt").write_text(f"{version}\\n" * 200)
            (folder / "version.txt").write_text(f"{version}\\n")
        print(version, flush=True)
""")


def complete_version(out: Path) -> int:
    """The version a folder holds, checking that it is complete and of one version."""
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([MARKER, "version.txt", *(f"part{k}.txt" for k in range(20))]), names
    version = int((out / "version.txt").read_text())
    for k in range(20):
        assert (out / f"part{k}.txt").read_text() == f"{version}\n" * 200
    return version


@pytest.mark.parametrize("mode", ["exchange", "two-renames"])
def test_writer_killed_at_random_moments(tmp_path, mode):
    if mode == "exchange" and _outdir._renameat2 is None:
        pytest.skip("renameat2 is not available here")
    rng = random.Random(16)
    out = tmp_path / "out"
    seen = -1
    for trial in range(5):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(out), mode, str(trial * 1000),
                                 "1000"], stdout=subprocess.PIPE, text=True)
        proc.stdout.readline()  # one version written: the loop is swapping now
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        clean_leftovers(out)  # what the next run does first
        assert out.is_dir(), f"trial {trial}: the output folder is missing"
        version = complete_version(out)
        assert version >= trial * 1000 > seen
        seen = version
        assert hidden(tmp_path) == []


def test_two_writers_on_one_target_never_mix(tmp_path):
    out = tmp_path / "out"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(out), "exchange", str(start),
                               "15"], stdout=subprocess.DEVNULL) for start in (0, 1000)]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    assert complete_version(out) in (14, 1014)
    assert hidden(tmp_path) == []


# -- real commands killed at random moments ---------------------------------------------------

@pytest.fixture(scope="module")
def study_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("study")
    study = make_study()
    for a in study.annotators:
        anns = [study.annotation(a, i) for i in study.images if a in study.annotators_of(i)]
        write_coco_panoptic(anns, CATS, root / "study" / a / "panoptic.json")
    return root / "study"


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "agreement", *args]


TABLES = {"regions", "class_pairs", "pair_annotators", "annotators", "per_class",
          "pixel_per_class", "pixel_pairs"}


def disagreement_tables(out: Path) -> dict[str, pd.DataFrame]:
    names = {p.stem for p in out.glob("*.csv")}
    assert names == TABLES, names
    assert (out / MARKER).is_file()
    return {n: pd.read_csv(out / f"{n}.csv") for n in sorted(names)}


@pytest.mark.slow
def test_disagreement_out_killed_at_random_moments(tmp_path, study_dir):
    out = tmp_path / "out"
    start = time.perf_counter()
    subprocess.run(cli("disagreement", str(study_dir), "--out", str(out)), check=True,
                   capture_output=True)
    span = time.perf_counter() - start
    previous = disagreement_tables(out)
    rng = random.Random(17)
    for _ in range(4):
        proc = subprocess.Popen(cli("disagreement", str(study_dir), "--out", str(out)),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.05) * span)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        now = disagreement_tables(out)  # complete: the previous or the new (equal) tables
        for name, frame in previous.items():
            pd.testing.assert_frame_equal(now[name], frame)
    subprocess.run(cli("disagreement", str(study_dir), "--out", str(out)), check=True,
                   capture_output=True)
    disagreement_tables(out)
    assert hidden(tmp_path) == []  # the killed runs' leftovers are gone


@pytest.mark.slow
def test_report_killed_at_random_moments(tmp_path, study_dir):
    out = tmp_path / "report"
    args = cli("report", str(study_dir), "--out", str(out), "-q", "--bootstrap", "0",
               "--no-boundary", "--json", str(tmp_path / "summary.json"))
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    span = time.perf_counter() - start
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    rng = random.Random(18)
    for _ in range(3):
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.05) * span)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == files
        assert (out / "report.html").read_text(encoding="utf-8").rstrip().endswith("</html>")
        json.loads((tmp_path / "summary.json").read_text())  # complete, old or new
    subprocess.run(args, check=True, capture_output=True)
    assert hidden(tmp_path) == []
