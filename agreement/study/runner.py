"""The runner: one pass over a study's images, on any executor, for parts it knows nothing about.

A pass decodes each (annotator, image) map once and hands the image's
:class:`~agreement.image.maps.ImageMaps` to every :class:`Part` that wants the image. A part's
kernel returns a small partial; partials are merged image by image within a *chunk* of images
(on the worker), chunk results travel back and are folded into the part's total in chunk order;
the part's ``finish`` turns the total into its result. Nothing of an image outlives its step but
the partials. Parts finish one after the other, in order; while one finishes, the totals of the
parts after it wait pickled in anonymous temporary files (:func:`_finish`).

Chunks are fixed slices of the image list (:data:`CHUNK_SIZE` images), the same whatever runs
them, and chunk results are folded in chunk order (out-of-order completions wait in a buffer), so
a serial run, a process pool, any :class:`concurrent.futures.Executor` and a Dask
``distributed.Client`` give the same results, bit for bit. Parallel runs keep a bounded number of
chunks in flight, so the buffer stays small.

Executors
    ``executor=None`` with ``n_jobs=1``: this process. ``n_jobs > 1`` (-1: one per available
    core): threads of this process when every part says its kernel runs in code that releases
    the GIL (:attr:`Part.threads`, the compiled kernels built), else a process pool the runner
    starts and stops (its workers keep freed memory as this process does,
    :func:`agreement._native.retain_freed_memory`). ``executor=`` any
    ``concurrent.futures.Executor``
    (the study and the parts travel with each chunk) or a ``distributed.Client`` (they are sent
    to every worker once; workers must be able to read the study's files).
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import os
import warnings
from abc import ABC, abstractmethod
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from .. import _native
from .._spool import Spool
from ..errors import AnnotationError, StudyError
from ..image.maps import ImageMaps, Loaded
from ..model import Study

__all__ = ["CHUNK_SIZE", "Part", "available_cores", "run", "stream"]

P = TypeVar("P")
R = TypeVar("R")

#: Images per chunk: the unit of work sent to an executor, and of the fold order.
CHUNK_SIZE = 8


class Part(ABC, Generic[P, R]):
    """One analysis run by the pass: a per-image kernel, an exact merge, a fold and a finish.

    Subclasses are frozen dataclasses of typed options, validated at construction; they must
    pickle (they travel to worker processes). The runner calls :meth:`kernel` once per image the
    part wants, merges the partials of a chunk with :meth:`merge` (in image order, on the worker)
    and folds the chunk results into the total with :meth:`fold` (in chunk order); :meth:`finish`
    turns the total (None when no image was run) into the result.
    """

    #: The part's key (the field of :class:`agreement.study.analysis.Analysis`).
    name: ClassVar[str] = ""
    #: Progress bar label when the part runs alone.
    label: ClassVar[str] = "images"
    #: Whether the part reads images some annotations of which could not be decoded (the others
    #: raise the decoding error).
    tolerant: ClassVar[bool] = False
    #: Whether the part wants what the readers noticed while painting each map.
    layer_findings: ClassVar[bool] = False
    #: Whether the kernel spends its time in code that releases the GIL (PNG decoding and the
    #: compiled kernels): ``n_jobs > 1`` then runs chunks on threads of this process (no
    #: worker start, nothing pickled) instead of worker processes.
    threads: ClassVar[bool] = False

    @property
    def bands(self) -> float | None:
        """Boundary band width (a fraction of the image diagonal) the part needs in the pairs'
        joint tables (None: no bands)."""
        return None

    def images(self, study: Study, images: Sequence[str] | None) -> Sequence[str] | None:
        """The images the part wants (None: every image of the pass); may raise StudyError."""
        return None

    @abstractmethod
    def kernel(self, maps: ImageMaps) -> P:
        """The partial of one image."""

    @abstractmethod
    def merge(self, a: P, b: P) -> P:
        """``a`` then ``b`` (images of one chunk, in image order); exact."""

    def fold(self, total: Any, chunk: P) -> Any:
        """Add one chunk's partial to the total (None before the first chunk)."""
        return chunk if total is None else self.merge(total, chunk)

    @abstractmethod
    def finish(self, total: Any, study: Study) -> R:
        """The part's result from the total over every image (None: no image)."""


@dataclass(frozen=True)
class _Job:
    """What a worker needs to run chunks: the study, the parts, how to read an image."""

    study: Study
    parts: tuple[Part, ...]
    tolerant: bool
    layer_findings: bool  # read with the sources' load_with_findings where they have one
    dilation_ratio: float | None

    def load(self, image: str) -> ImageMaps:
        """Decode every annotation of ``image`` once."""
        read = []
        for a in self.study.annotators_of(image):
            try:
                read.append(self._read(a, image))
            except AnnotationError as exc:
                if not self.tolerant:
                    raise
                read.append(Loaded(a, None, (), exc, _file(self.study, a)))
        anns = {r.annotator: r.annotation for r in read if r.annotation is not None}
        return ImageMaps(image, anns, categories=self.study.categories,
                         dilation_ratio=self.dilation_ratio, read=read,
                         annotators=self.study.annotators)

    def _read(self, annotator: str, image: str) -> Loaded:
        src = self.study.source(annotator)
        loader = getattr(src, "load_with_findings", None)
        if not self.layer_findings or loader is None:
            return Loaded(annotator, self.study.annotation(annotator, image),
                          file=_file(self.study, annotator))
        ann, layer = loader(self.study.file_name(annotator, image))
        return Loaded(annotator, ann, tuple(dataclasses.replace(f, annotator=annotator)
                                            for f in layer), file=_file(self.study, annotator))


def _file(study: Study, annotator: str) -> str:
    """The file an annotator's annotations come from (for findings)."""
    src = study.source(annotator)
    return getattr(src, "file", src.name)


Plan = tuple[tuple[str, tuple[int, ...]], ...]  # (image, indices of the parts wanting it)


def _run_chunk(job: _Job, plan: Plan) -> list:
    """Run one chunk: each image decoded once, its partials merged in image order (None for a
    part no image of the chunk wanted)."""
    totals: list = [None] * len(job.parts)
    for image, wanted in plan:
        maps = job.load(image)
        if maps.error is not None and any(not job.parts[i].tolerant for i in wanted):
            raise maps.error
        for i in wanted:
            part = job.parts[i]
            partial = part.kernel(maps)
            totals[i] = partial if totals[i] is None else part.merge(totals[i], partial)
        del maps  # before the next image is decoded: one image's maps at a time
    return totals


_STATE: dict[str, _Job] = {}


def _init(job: _Job, retained: dict[str, int] | None = None) -> None:
    _STATE["job"] = job
    if retained is not None:  # as the parent process (a forked worker inherits it anyway)
        _native.retain_freed_memory(**retained)


def _run_chunk_here(plan: Plan) -> list:
    return _run_chunk(_STATE["job"], plan)


class _Chunks(Sequence[Plan]):
    """The pass's chunks, each made when asked: ``size`` images (of those some part wants) and
    the parts that want each. Nothing is held an image when every part wants every image (the
    images are sliced from the study's index chunk by chunk), else the position of each image
    a part wants (8 bytes)."""

    def __init__(self, todo: Sequence[str], sets: list[set[str] | None], size: int) -> None:
        self._sets, self._size, self._todo = sets, size, todo
        self._every = tuple(range(len(sets)))  # one tuple shared by the images every part wants
        #: positions in ``todo`` of the images some part wants (None: every image)
        self._kept: array | None = None
        if not sets or any(s is not None for s in sets):
            self._kept = array("q", (k for k, i in enumerate(todo)
                                     if any(s is None or i in s for s in sets)))
        #: images of the pass
        self.images = len(todo) if self._kept is None else len(self._kept)

    def __len__(self) -> int:
        return -(-self.images // self._size)

    def __getitem__(self, k: Any) -> Any:
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        if not 0 <= k < len(self):
            raise IndexError("chunk index out of range")
        span = slice(k * self._size, (k + 1) * self._size)
        if self._kept is None:
            return tuple((i, self._every) for i in self._todo[span])
        images = [self._todo[r] for r in self._kept[span]]
        return tuple((i, tuple(p for p, s in enumerate(self._sets) if s is None or i in s))
                     for i in images)


def run(study: Study, parts: Sequence[Part], *, images: Sequence[str] | None = None,
        executor: Any = None, n_jobs: int = 1, progress: bool = False, desc: str | None = None,
        chunk_size: int | None = None) -> list:
    """Run ``parts`` in one pass over the images; return their results, in order.

    Parameters
    ----------
    study : Study
    parts : sequence of Part
    images : sequence of str, optional
        The images of the pass (default: all); each part may want fewer.
    executor : concurrent.futures.Executor or distributed.Client, optional
        Where chunks run (see the module notes); exclusive with ``n_jobs``.
    n_jobs : int
        Workers when no executor is given (1: this process; -1: one per available core):
        threads when every part allows them (:attr:`Part.threads`), else processes.
    progress : bool
        A progress bar over images (stderr), advancing as chunks finish.
    desc : str, optional
        Its label.
    chunk_size : int, optional
        Images per chunk (default :data:`CHUNK_SIZE`; results depend on it only through the
        order float sums are added in).

    Raises
    ------
    StudyError
        Unknown images, an executor together with ``n_jobs``, parts asking for different
        boundary widths.
    """
    totals: list = [None] * len(parts)
    for partials in stream(study, parts, images=images, executor=executor, n_jobs=n_jobs,
                           progress=progress, desc=desc, chunk_size=chunk_size):
        totals = [t if c is None else p.fold(t, c)
                  for p, t, c in zip(parts, totals, partials, strict=True)]
        del partials
    return _finish(parts, totals, study)


def _finish(parts: Sequence[Part], totals: list, study: Study) -> list:
    """Each part's result, in order; empties ``totals`` (the runner's own list).

    While a part finishes, the totals of the parts after it wait pickled in anonymous temporary
    files (:class:`agreement._spool.Spool`) and each is read back just before its own finish,
    so only one part's total and work are in memory at a time (pickling is exact: the same
    results). A total that does not pickle (or a file that cannot be written, or no temporary
    file at all) stays in memory.
    """
    aside: dict[int, Spool] = {}
    for i in range(1, len(parts)):
        if totals[i] is not None:
            aside[i] = Spool([totals[i]])
            totals[i] = None
    results = []
    try:
        for i, part in enumerate(parts):
            if i in aside:
                totals[i], = aside.pop(i)
            total, totals[i] = totals[i], None
            results.append(part.finish(total, study))
            del total
    finally:
        for spool in aside.values():
            spool.close()
    return results


def stream(study: Study, parts: Sequence[Part], *, images: Sequence[str] | None = None,
           executor: Any = None, n_jobs: int = 1, progress: bool = False,
           desc: str | None = None, chunk_size: int | None = None) -> Iterator[list]:
    """The pass of :func:`run`, chunk by chunk: each chunk's partials (one per part, None for a
    part no image of the chunk wanted), in chunk order, as soon as the chunks before it are in.

    :func:`run` folds them; a caller that writes what each chunk brings (the consensus export:
    :func:`agreement.study.consensus_maps.export_consensus`) consumes them as they come, and
    the pass advances only as fast as it does (a bounded number of chunks in flight). Closing
    the generator stops the pass (pending chunks are cancelled). Same parameters as
    :func:`run`; the checks run when the first chunk is asked for.
    """
    if executor is not None and n_jobs != 1:
        raise StudyError(f"give either executor= or n_jobs=, got executor={executor!r} and "
                         f"n_jobs={n_jobs}")
    todo: Sequence[str] = study.image_sequence() if images is None else tuple(images)
    if images is not None:
        unknown = sorted({i for i in todo if i not in study})
        if unknown:
            raise StudyError(
                f"images must be in the study, got {len(unknown)} unknown: {unknown[:5]}")
    wanted = [p.images(study, images) for p in parts]
    ratios = {p.bands for p in parts} - {None}
    if len(ratios) > 1:
        raise StudyError(f"parts must share one boundary width ratio, got {sorted(ratios)}")
    job = _Job(study, tuple(parts), any(p.tolerant for p in parts),
               any(p.layer_findings for p in parts), next(iter(ratios), None))
    size = max(1, int(CHUNK_SIZE if chunk_size is None else chunk_size))
    chunks = _Chunks(todo, [None if w is None else set(w) for w in wanted], size)
    del wanted  # the parts' lists: their sets are what the chunks read
    label = desc or (parts[0].label if len(parts) == 1 else "analyse")
    bar = _progress_bar(chunks.images, label) if progress else _NoBar()
    try:
        with _native.reusing_freed_memory():  # maps read one after another; given back after
            yield from _chunk_results(job, chunks, executor, n_jobs, bar)
    finally:
        bar.close()


def _chunk_results(job: _Job, chunks: Sequence[Plan], executor: Any, n_jobs: int,
                   bar: Any) -> Iterator[list]:
    """Each chunk's partials, in chunk order."""
    workers = available_cores() if n_jobs < 0 else max(1, int(n_jobs))
    if executor is None and (workers == 1 or len(chunks) < 2):
        for chunk in chunks:
            out = _run_chunk(job, chunk)
            bar.update(len(chunk))
            yield out
        return
    if executor is None and _native.kernels is not None and all(p.threads for p in job.parts):
        with cf.ThreadPoolExecutor(max_workers=min(workers, len(chunks))) as pool:
            yield from _ordered(lambda c: pool.submit(_run_chunk, job, c), chunks,
                                2 * min(workers, len(chunks)), bar)
        return
    if executor is None:
        with cf.ProcessPoolExecutor(max_workers=min(workers, len(chunks)), initializer=_init,
                                    initargs=(job, _native.retained())) as pool:
            yield from _ordered(lambda c: pool.submit(_run_chunk_here, c), chunks,
                                2 * min(workers, len(chunks)), bar)
        return
    if _is_dask_client(executor):
        remote = executor.scatter(job, broadcast=True, hash=False)
        pool = executor.get_executor(pure=False)
        window = 2 * max(1, sum(executor.nthreads().values()))
        try:
            yield from _ordered(lambda c: pool.submit(_run_chunk, remote, c), chunks, window, bar)
        finally:
            executor.cancel(remote)
        return
    if not isinstance(executor, cf.Executor):
        raise StudyError("executor must be a concurrent.futures.Executor or a distributed.Client,"
                         f" got {type(executor).__name__}")
    window = 2 * max(1, int(getattr(executor, "_max_workers", 0) or os.cpu_count() or 1))
    yield from _ordered(lambda c: executor.submit(_run_chunk, job, c), chunks, window, bar)


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the system tells, else all)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def _ordered(submit: Callable[[Plan], cf.Future], chunks: Sequence[Plan], window: int,
             bar: Any) -> Iterator[list]:
    """Submit chunks, at most ``window`` unfolded at a time; yield results in chunk order."""
    pending: dict[cf.Future, tuple[int, int]] = {}  # future -> (chunk, its images)
    done: dict[int, list] = {}
    sent = turn = 0
    try:
        while turn < len(chunks):
            while sent < len(chunks) and len(pending) + len(done) < window:
                chunk = chunks[sent]
                pending[submit(chunk)] = (sent, len(chunk))
                sent += 1
            if turn not in done:
                finished, _ = cf.wait(list(pending), return_when=cf.FIRST_COMPLETED)
                for fut in finished:
                    k, n = pending.pop(fut)
                    done[k] = fut.result()
                    bar.update(n)
                continue
            yield done.pop(turn)
            turn += 1
    finally:
        for fut in pending:
            fut.cancel()


def _is_dask_client(obj: Any) -> bool:
    return type(obj).__module__.startswith("distributed") and hasattr(obj, "scatter")


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, desc: str) -> Any:
    """A tqdm bar (a notebook widget when ipywidgets is installed, else text on stderr).

    tqdm.auto is imported here, not at module level: inside Jupyter without ipywidgets its
    import warns (TqdmWarning) and falls back to the text bar, which is what we want silently.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm

    return tqdm(total=total, unit="image", desc=desc)
