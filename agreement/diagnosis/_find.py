"""``find(study)``: the findings of a study, in one pass of the engine's runner.

The per-image kernel (:func:`agreement.diagnosis.maps_record`) runs as the part
:class:`agreement.study.findings_part.FindingsPart` of a pass; its records fold by concatenation
and :func:`agreement.diagnosis.finish` tests the whole study.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..model import Study
from ._finish import Options
from ._kernel import ImageRecord
from .records import Findings

__all__ = ["find", "records"]


def records(study: Study, *, options: Options | None = None,
            images: Iterable[str] | None = None, n_jobs: int = 1, executor: Any = None,
            progress: bool = False) -> list[ImageRecord]:
    """The per-image records of a study, in image order (one pass of the runner)."""
    from ..study.findings_part import RecordsPart
    from ..study.runner import run

    part = RecordsPart(options or Options())
    return run(study, [part], images=None if images is None else list(images), n_jobs=n_jobs,
               executor=executor, progress=progress)[0]


def find(study: Study, *, options: Options | None = None,
         images: Iterable[str] | None = None, n_jobs: int = 1, executor: Any = None,
         progress: bool = False) -> Findings:
    """What is systematically different in a study, and who does it.

    Each annotator is compared, image by image, with the consensus of the others
    (leave-one-out) per class, class pair and kind; an annotator's effect becomes a finding
    when it stands out from the other annotators' effects judged over images (permutation of
    annotator roles within images; multiplicity controlled over every test of the study) and
    is at least the kind's minimum practical effect. See docs/findings.md.

    Parameters
    ----------
    study : Study
    options : Options, optional
    images : iterable of str, optional
        Only these images (default: all).
    n_jobs : int
        Worker processes over images (1: this process; -1: one per CPU).
    executor : concurrent.futures.Executor or distributed.Client, optional
        Run the images there instead (:mod:`agreement.study.runner`).
    progress : bool
        A progress bar over images.

    Returns
    -------
    Findings
        Ranked by impact; ``.tests`` holds every test. The same whatever runs the images.

    Examples
    --------
    >>> from agreement.simulation import Plant, simulate
    >>> sim = simulate(seed=0, annotators=4, images=8, height=128, width=256,
    ...                plants=[Plant("class_confusion", "strong", "ben", ("car", "truck"))])
    >>> found = find(sim.study())
    >>> f = found[0]
    >>> f.kind, f.categories, f.annotators
    ('class_confusion', ('car', 'truck'), ('ben',))
    """
    from ..study.findings_part import FindingsPart
    from ..study.runner import run

    return run(study, [FindingsPart(options or Options())],
               images=None if images is None else list(images), n_jobs=n_jobs,
               executor=executor, progress=progress)[0]
