"""Run a per-image function over a study's images, serially or in a process pool.

The per-image function receives ``(image, {annotator: annotation})`` and returns something small;
results come back in image order, so parallel runs give the same results as serial ones.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from tqdm.auto import tqdm

from .model import PanopticAnnotation, Study

T = TypeVar("T")
Work = Callable[[str, dict[str, PanopticAnnotation]], Any]

_STATE: dict[str, Any] = {}


def _init(study: Study, work: Work) -> None:
    _STATE.update(study=study, work=work)


def _one(image: str) -> Any:
    study: Study = _STATE["study"]
    return _STATE["work"](image, study.annotations(image))


def map_images(study: Study, work: Work, *, images: Iterable[str] | None = None,
               n_jobs: int = 1, progress: bool = False, desc: str = "images") -> Iterator[Any]:
    """Yield ``work(image, annotations)`` for every image (of ``images``), in order.

    ``n_jobs``: worker processes (1: this process; -1: one per CPU). ``work`` must be picklable
    (a module-level function or a :func:`functools.partial` of one) when ``n_jobs != 1``.
    """
    todo = list(study.images if images is None else images)
    workers = (os.cpu_count() or 1) if n_jobs == -1 else max(1, int(n_jobs))
    bar = tqdm(total=len(todo), disable=not progress, unit="image", desc=desc)
    try:
        if workers == 1 or len(todo) < 2:
            for image in todo:
                yield work(image, study.annotations(image))
                bar.update()
            return
        with cf.ProcessPoolExecutor(max_workers=min(workers, len(todo)), initializer=_init,
                                    initargs=(study, work)) as pool:
            for part in pool.map(_one, todo, chunksize=1):
                yield part
                bar.update()
    finally:
        bar.close()
