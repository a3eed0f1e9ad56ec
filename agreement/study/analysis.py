"""Every study-level analysis in one pass over the images (:func:`analyse`).

Each (annotator, image) map is decoded once and every requested part runs on it
(:mod:`agreement.study.runner`): the pairwise evaluation (:func:`agreement.study.pq.evaluate`),
the disagreement heatmaps and regions (:func:`agreement.study.disputes.disagreement`), pixel
agreement (:func:`agreement.study.pixels.pixel_agreement`), leave-one-out scores
(:func:`agreement.study.loo.leave_one_out`), pixel coincidences
(:func:`agreement.study.coincidence.coincidence_frame`), validation
(:func:`agreement.study.validation.validate`), human consistency
(:func:`agreement.study.consistency.human_consistency`) and the findings about annotators
(:func:`agreement.diagnosis.find`). Each result is exactly the one its
function returns: those functions run the same parts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..diagnosis.records import Findings
from ..errors import StudyError
from ..metrics.pixel import PixelAgreement
from ..model import Study
from .coincidence import CoincidencePart
from .consistency import ConsistencyPart, ConsistencyResult
from .disputes import DisputesPart, StudyDisagreement
from .findings_part import FindingsPart
from .loo import LeaveOneOut, LooPart
from .pixels import PixelPart
from .pq import PQPart
from .pq_result import StudyResult
from .runner import Part, run
from .validation import ValidationPart

__all__ = ["PARTS", "Analysis", "analyse"]

#: The parts :func:`analyse` computes, by name, in the order their kernels run on an image.
PART_TYPES: dict[str, type[Part]] = {
    "pq": PQPart, "disagreement": DisputesPart, "pixel": PixelPart, "loo": LooPart,
    "coincidence": CoincidencePart, "validation": ValidationPart, "consistency": ConsistencyPart,
    "findings": FindingsPart}
PARTS = tuple(PART_TYPES)


@dataclass(frozen=True, eq=False)
class Analysis:
    """The results of :func:`analyse` (None for a part not asked for).

    Attributes
    ----------
    pq : StudyResult or None
    disagreement : StudyDisagreement or None
    pixel : PixelAgreement or None
    loo : LeaveOneOut or None
    coincidence : DataFrame or None
    validation : DataFrame or None
    consistency : ConsistencyResult or None
    findings : Findings or None
    """

    pq: StudyResult | None = None
    disagreement: StudyDisagreement | None = None
    pixel: PixelAgreement | None = None
    loo: LeaveOneOut | None = None
    coincidence: pd.DataFrame | None = None
    validation: pd.DataFrame | None = None
    consistency: ConsistencyResult | None = None
    findings: Findings | None = None

    def __repr__(self) -> str:
        done = [(p, getattr(self, p)) for p in PARTS if getattr(self, p) is not None]
        text = ", ".join(f"{p}=<{len(v)} rows>" if isinstance(v, pd.DataFrame) else f"{p}={v!r}"
                         for p, v in done)
        return f"Analysis({text})"


def make_part(name: str, options: Mapping[str, Any] | None = None) -> Part:
    """The part called ``name`` with its typed options (StudyError on unknown ones)."""
    if name not in PART_TYPES:
        raise StudyError(f"parts must be some of {list(PARTS)}, got {[name]}")
    try:
        return PART_TYPES[name](**dict(options or {}))
    except TypeError as exc:
        raise StudyError(f"options of part {name!r} must be its function's keyword options, "
                         f"got {sorted(options or {})}") from exc


def analyse(study: Study, *, parts: Iterable[str | Part] = PARTS,
            options: Mapping[str, Mapping[str, Any]] | None = None,
            images: Sequence[str] | None = None, n_jobs: int = 1, progress: bool = False,
            executor: Any = None) -> Analysis:
    """Compute the requested study-level parts in one pass over the images.

    Parameters
    ----------
    study : Study
    parts : iterable of str or Part
        Any of :data:`PARTS` (``"pq"``: :func:`~agreement.study.pq.evaluate`,
        ``"disagreement"``, ``"pixel"``, ``"loo"``, ``"coincidence"``, ``"validation"``,
        ``"consistency"``, ``"findings"``), or parts already built with their options.
    options : mapping of part name to mapping, optional
        Keyword options of each named part, e.g. ``{"pq": {"boundary": False},
        "loo": {"min_share": 0.5}}`` (``pq`` takes ``annotators``, ``boundary``,
        ``dilation_ratio``, ``diagnostic_threshold``, ``small_area``, ``segments``;
        ``findings`` takes ``options``, an :class:`agreement.diagnosis.Options`).
    images : sequence of str, optional
        Restrict every part to these images (default: all; ``pq`` then evaluates the images at
        least two of its annotators annotated).
    n_jobs : int
        Worker processes over images (1: this process; -1: one per CPU); results are identical.
    progress : bool
        Show a progress bar over images.
    executor : concurrent.futures.Executor or distributed.Client, optional
        Run the images there (:mod:`agreement.study.runner`); results are identical.

    Returns
    -------
    Analysis
        Each requested part's result, equal to its function's.

    Raises
    ------
    StudyError
        An unknown part or option, or a part's own argument errors.
    AnnotationError
        An annotation cannot be read (recorded as a finding when only validating).

    Examples
    --------
    >>> from agreement.model import Categories, Category, PanopticAnnotation
    >>> cats = Categories([Category(1, "road", False), Category(2, "walk", False)])
    >>> a = PanopticAnnotation.from_map([[1, 1, 2, 2]], {1: 1, 2: 2}, file_name="x.png")
    >>> b = PanopticAnnotation.from_map([[1, 2, 2, 2]], {1: 1, 2: 2}, file_name="x.png")
    >>> study = Study.from_annotations({"a": [a], "b": [b]}, cats)
    >>> res = analyse(study, parts=("pq", "pixel"))
    >>> round(res.pq.pq("a", "b").pq, 4), res.pixel.pairs.kappa.tolist(), res.loo is None
    (0.3333, [0.5], True)
    """
    wanted = list(dict.fromkeys(parts))
    options = dict(options or {})
    names = [p if isinstance(p, str) else p.name for p in wanted]
    bad = [p for p in (*names, *options) if p not in PARTS]
    if bad or not wanted:
        raise StudyError(f"parts must be some of {list(PARTS)}, got {bad or names}")
    built = [make_part(p, options.get(p)) if isinstance(p, str) else p for p in wanted]
    order = sorted(range(len(built)), key=lambda k: PARTS.index(names[k]))
    results = run(study, [built[k] for k in order], images=images, n_jobs=n_jobs,
                  progress=progress, executor=executor)
    return Analysis(**{names[k]: r for k, r in zip(order, results, strict=True)})
