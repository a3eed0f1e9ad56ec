"""Run a per-image function over a study's images, serially or in a process pool.

The per-image function receives ``(image, {annotator: annotation})`` and returns something small;
results come back in image order, so parallel runs give the same results as serial ones.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from .model import PanopticAnnotation, Study

T = TypeVar("T")
Work = Callable[[str, dict[str, PanopticAnnotation]], Any]

_STATE: dict[str, Any] = {}


def _annotations(study: Study, image: str) -> dict[str, PanopticAnnotation]:
    return study.annotations(image)


def _init(study: Study, work: Work, load: Callable[[Study, str], Any]) -> None:
    _STATE.update(study=study, work=work, load=load)


def _one(image: str) -> Any:
    return _STATE["work"](image, _STATE["load"](_STATE["study"], image))


def map_images(study: Study, work: Work, *, images: Iterable[str] | None = None,
               n_jobs: int = 1, progress: bool = False, desc: str = "images",
               load: Callable[[Study, str], Any] = _annotations) -> Iterator[Any]:
    """Yield ``work(image, load(study, image))`` for every image (of ``images``), in order.

    ``n_jobs``: worker processes (1: this process; -1: one per CPU). ``work`` and ``load`` must
    be picklable (module-level functions or :func:`functools.partial` of them) when
    ``n_jobs != 1``. ``load`` defaults to :meth:`Study.annotations` (annotator -> annotation).
    """
    todo = list(study.images if images is None else images)
    workers = (os.cpu_count() or 1) if n_jobs == -1 else max(1, int(n_jobs))
    bar = _progress_bar(len(todo), desc) if progress else _NoBar()
    try:
        if workers == 1 or len(todo) < 2:
            for image in todo:
                yield work(image, load(study, image))
                bar.update()
            return
        with cf.ProcessPoolExecutor(max_workers=min(workers, len(todo)), initializer=_init,
                                    initargs=(study, work, load)) as pool:
            for part in pool.map(_one, todo, chunksize=1):
                yield part
                bar.update()
    finally:
        bar.close()


class _NoBar:
    def update(self) -> None:
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
