"""The pass gives the same tables, bit for bit, whatever runs it: in this process, on its own
process pool, on any concurrent.futures executor, on a Dask cluster; chunks finishing out of
order are folded in order, progress advances, errors come back as they are."""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import functools
import math
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest

from agreement import Categories, Category, PanopticAnnotation
from agreement.errors import AnnotationError
from agreement.io import load_study, write_coco_panoptic
from agreement.study import runner
from agreement.study.analysis import PARTS, analyse

CATS = Categories([Category(1, "car", True), Category(2, "person", True),
                   Category(7, "road", False), Category(9, "sky", False)])


def _annotation(i: int, who: int, rng: np.random.Generator) -> PanopticAnnotation:
    """Sky above a horizon, road below, a few jittered boxes; sizes vary between images."""
    h, w = (24, 40) if i % 3 else (18, 30)
    ids = np.full((h, w), 1, np.int32)
    ids[: h // 3 + who % 2] = 2
    cats = {1: 7, 2: 9}
    for k, cat in enumerate((1, 1, 2), start=3):
        y, x = rng.integers(h // 3, h - 5), rng.integers(0, w - 7)
        ids[y: y + 4 + who % 2, x: x + 5 + k % 2] = k
        cats[k] = cat
    if who == 2:
        ids[:2, :3] = 0
    cats = {s: c for s, c in cats.items() if (ids == s).any()}
    return PanopticAnnotation.from_map(ids, cats, file_name=f"img{i:02d}.png", image_id=i + 1)


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    for who, name in enumerate(("ann_a", "ann_b", "ann_c")):
        anns = [_annotation(i, who, np.random.default_rng([i, who // 2]))
                for i in range(11) if not (name == "ann_c" and i == 4)]
        write_coco_panoptic(anns, CATS, root / name / "panoptic.json")
    return root


@pytest.fixture(scope="module", autouse=True)
def small_chunks():
    """Chunks of 3 images, so that 11 images make 4 chunks (results depend on the chunking
    only, and every run here uses the same)."""
    before = runner.CHUNK_SIZE
    runner.CHUNK_SIZE = 3
    yield
    runner.CHUNK_SIZE = before


@pytest.fixture(scope="module")
def study(study_dir):
    return load_study(study_dir)


@pytest.fixture(scope="module")
def serial(study):
    return analyse(study, parts=PARTS)


def _same(x, y, where: str = "") -> None:
    """Every table, array and number of two results equal, exactly."""
    if isinstance(x, pd.DataFrame):
        pd.testing.assert_frame_equal(x, y, check_exact=True, obj=where)
    elif isinstance(x, np.ndarray):
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), where
    elif isinstance(x, float):
        assert x == y or (math.isnan(x) and math.isnan(y)), where
    elif dataclasses.is_dataclass(x):
        lazy = [n for n, v in vars(type(x)).items() if isinstance(v, functools.cached_property)]
        for name in [f.name for f in dataclasses.fields(x)] + lazy:  # tables built when read too
            if not name.startswith("_"):
                _same(getattr(x, name), getattr(y, name), f"{where}.{name}")
    elif isinstance(x, (list, tuple)):
        assert type(x) is type(y) and len(x) == len(y), where
        for k, (u, v) in enumerate(zip(x, y, strict=True)):
            _same(u, v, f"{where}[{k}]")
    elif isinstance(x, dict):
        assert x.keys() == y.keys(), where
        for k in x:
            _same(x[k], y[k], f"{where}[{k!r}]")
    else:
        assert x == y, where


class Backwards(cf.Executor):
    """One thread running the most recently submitted task first: chunks finish out of order."""

    _max_workers = 2

    def __init__(self) -> None:
        self.tasks: list = []
        self.done: list[int] = []
        self.cv = threading.Condition()
        self.stop = False
        self.thread = threading.Thread(target=self._work, daemon=True)
        self.thread.start()

    def submit(self, fn, /, *args, **kwargs):
        fut: cf.Future = cf.Future()
        with self.cv:
            self.tasks.append((fut, fn, args, len(self.tasks) + len(self.done)))
            self.cv.notify()
        return fut

    def _work(self) -> None:
        while True:
            with self.cv:
                while not self.tasks and not self.stop:
                    self.cv.wait()
                if not self.tasks:
                    return
            time.sleep(0.05)  # let the runner fill its window
            with self.cv:
                fut, fn, args, n = self.tasks.pop()
            self.done.append(n)
            try:
                fut.set_result(fn(*args))
            except Exception as exc:  # handed to the caller
                fut.set_exception(exc)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self.cv:
            self.stop = True
            self.cv.notify()
        if wait:
            self.thread.join()


def test_process_pool_equals_serial(study, serial):
    _same(serial, analyse(study, parts=PARTS, n_jobs=2))


def test_n_jobs_runs_threads_for_parts_that_release_the_gil(study, monkeypatch):
    """PQ alone: chunks on threads of this process (no worker process), results identical."""
    from agreement import _native
    from agreement.study.pq import evaluate

    serial_pq = evaluate(study)

    def no_processes(*args, **kwargs):
        raise AssertionError("a process pool was started")

    if _native.kernels is not None:
        monkeypatch.setattr(cf, "ProcessPoolExecutor", no_processes)
    _same(serial_pq, evaluate(study, n_jobs=2))


def test_process_workers_keep_freed_memory_as_the_parent(monkeypatch):
    from agreement import _native

    calls = []
    monkeypatch.setattr(_native, "retain_freed_memory", lambda **kw: calls.append(kw))
    job = object()
    runner._init(job, {"keep": 1, "mmap_above": 2})
    runner._init(job, None)
    assert calls == [{"keep": 1, "mmap_above": 2}]


def test_any_executor_equals_serial(study, serial):
    with cf.ThreadPoolExecutor(2) as pool:
        _same(serial, analyse(study, parts=PARTS, executor=pool))
    with cf.ProcessPoolExecutor(2) as pool:  # the study and parts travel with each chunk
        _same(serial, analyse(study, parts=PARTS, executor=pool))


def test_chunks_finishing_out_of_order_are_folded_in_order(study, serial):
    backwards = Backwards()
    try:
        out = analyse(study, parts=PARTS, executor=backwards)
    finally:
        backwards.shutdown()
    assert backwards.done != sorted(backwards.done)  # they did finish out of order
    _same(serial, out)


def test_a_dask_cluster_equals_serial(study, serial, dask_client):
    _same(serial, analyse(study, parts=PARTS, executor=dask_client))


def test_pair_maps_under_a_cap_are_the_same_on_every_executor(study, dask_client):
    """The per-pair frame maps drop pairs as they go (the most disputed so far are kept): which
    ones depends on the chunks only, never on what runs them."""
    from agreement.study.disputes import DisputesPart

    part = DisputesPart(max_pair_maps=2)
    serial = runner.run(study, [part])[0].pair_maps
    assert serial is not None and 0 < int(serial.pairs["mapped"].sum()) <= 2
    assert len(serial.pairs) > 2 and serial.counts.any()
    backwards = Backwards()
    try:
        runs = [runner.run(study, [part], n_jobs=2)[0], runner.run(study, [part],
                                                                   executor=backwards)[0],
                runner.run(study, [part], executor=dask_client)[0]]
    finally:
        backwards.shutdown()
    for other in runs:
        _same(serial, other.pair_maps)


def test_progress_advances_for_every_executor(study, dask_client, capsys):
    for executor in (None, dask_client):
        analyse(study, parts=("pixel",), executor=executor, progress=True)
        err = capsys.readouterr().err
        assert "11/11" in err, err


def test_errors_on_workers_come_back_as_they_are(study_dir, tmp_path, dask_client):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(study_dir, broken)
    (broken / "ann_b" / "panoptic" / "img07.png").write_bytes(b"not a png")
    study = load_study(broken)
    with pytest.raises(AnnotationError) as serial:
        analyse(study, parts=("pq",))
    for kwargs in ({"n_jobs": 2}, {"executor": dask_client}):
        with pytest.raises(AnnotationError) as remote:
            analyse(study, parts=("pq",), **kwargs)
        assert str(remote.value) == str(serial.value)
        assert "img07.png" in str(remote.value)


def test_executor_and_n_jobs_are_exclusive(study):
    from agreement.errors import StudyError

    with cf.ThreadPoolExecutor(1) as pool, pytest.raises(StudyError, match="either executor="):
        analyse(study, parts=("pixel",), executor=pool, n_jobs=2)
    with pytest.raises(StudyError, match=r"executor must be a concurrent\.futures\.Executor"):
        analyse(study, parts=("pixel",), executor="tcp://nowhere:1")


COMMANDS = {
    "report": lambda s, o: ["report", s, "--out", o, "--bootstrap", "50", "-q"],
    "disagreement": lambda s, o: ["disagreement", s, "--out", o, "--leave-one-out",
                                  "--consensus", o + "/consensus", "--figures"],
    "validate": lambda s, o: ["validate", s, "--csv", o + "/findings.csv"],
    "consensus": lambda s, o: ["consensus", s, "--out", o + "/cons", "--format", "cvat", "-q"],
    "consistency": lambda s, o: ["consistency", s, "--csv", o + "/per_image.csv",
                                 "--by-class", o + "/classes.csv"],
    "compare": lambda s, o: ["compare", s, s, "--csv", o, "--n-boot", "20",
                             "--n-permutations", "20", "-q"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_cli_commands_on_a_scheduler_write_what_they_write_serially(command, study_dir,
                                                                   tmp_path, dask_client):
    from agreement.cli import main

    address = dask_client.scheduler.address
    outs = {}
    for how, extra in (("serial", []), ("dask", ["--scheduler", address])):
        out = tmp_path / how
        out.mkdir()
        assert main([*COMMANDS[command](str(study_dir), str(out)), *extra]) in (0, 1)
        outs[how] = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*"))
                     if p.is_file() and p.suffix in (".csv", ".json", ".png", ".xml")}
    assert outs["serial"] and outs["serial"] == outs["dask"]


def test_cli_pq_on_a_scheduler(study_dir, tmp_path, dask_client, capsys):
    from agreement.cli import main

    ref, other = (str(study_dir / a / "panoptic.json") for a in ("ann_a", "ann_b"))
    assert main(["pq", ref, other, "--json", str(tmp_path / "s.json")]) == 0
    assert main(["pq", ref, other, "--json", str(tmp_path / "d.json"), "--scheduler",
                 dask_client.scheduler.address]) == 0
    assert (tmp_path / "s.json").read_text() == (tmp_path / "d.json").read_text()


def test_scheduler_without_dask_says_how_to_install(study_dir, monkeypatch, capsys):
    from agreement.cli import main

    monkeypatch.setitem(sys.modules, "distributed", None)
    assert main(["validate", str(study_dir), "--scheduler", "tcp://127.0.0.1:1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["agreement validate: error: --scheduler needs Dask's distributed package: "
                   "pip install 'agreement[distributed]'"]


def test_scheduler_nobody_answers_is_one_line(study_dir, capsys):
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")
    from agreement.cli import main

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        assert main(["validate", str(study_dir), "--scheduler", "tcp://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--scheduler must be the address of a running Dask scheduler" in err[0]


def test_every_reader_s_source_pickles():
    """Workers receive the study pickled: every kind of source must survive it."""
    import pickle
    from pathlib import Path

    from agreement.io import load_source

    root = Path(__file__).parent / "data" / "fixtures"
    kinds = set()
    for f in sorted(root.rglob("*")):
        if f.suffix not in (".json", ".xml"):
            continue
        try:
            src = load_source(f)
        except Exception:  # not an export (a sidecar, a category list)
            continue
        back = pickle.loads(pickle.dumps(src))
        assert [i.file_name for i in back.images] == [i.file_name for i in src.images]
        kinds.add(type(src).__name__)
    assert kinds == {"CocoPanopticSource", "ShapeSource"}
