"""Every study-level analysis in one pass over the images.

:func:`analyse` decodes each image's maps once (one read per annotator and image) and runs every
requested per-image kernel on them in the same call, in a worker process with ``n_jobs > 1``:
the pairwise evaluation (:func:`agreement.study.evaluate`), the disagreement heatmaps and
regions (:func:`agreement.pixel_study.disagreement`), pixel agreement
(:func:`agreement.pixel_study.pixel_agreement`), leave-one-out scores
(:func:`agreement.consensus.leave_one_out`), pixel coincidences
(:func:`agreement.batch.coincidence_frame`) and validation (:func:`agreement.validate.validate`).
Kernels share what they derive from the maps through :class:`ImageMaps` (compact maps, category
maps, the pairwise matching). What leaves an image is small; each part is then assembled by its
own module, so every result is exactly the one its function returns (those functions are thin
calls of :func:`analyse`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ._pool import _annotations, map_images
from .errors import StudyError
from .model import PanopticAnnotation, Study

__all__ = ["PARTS", "Analysis", "ImageMaps", "analyse"]

#: The parts :func:`analyse` computes, in the order the kernels run on an image.
PARTS = ("pq", "disagreement", "pixel", "loo", "coincidence", "validation")
_DESC = {"pq": "agreement", "disagreement": "disagreement", "pixel": "pixel agreement",
         "loo": "leave-one-out", "coincidence": "pixel coincidences", "validation": "validate"}


@dataclass(frozen=True, eq=False)
class Analysis:
    """The results of :func:`analyse` (None for a part not asked for).

    Attributes
    ----------
    pq : StudyResult or None
        :func:`agreement.study.evaluate`.
    disagreement : StudyDisagreement or None
        :func:`agreement.pixel_study.disagreement`.
    pixel : PixelAgreement or None
        :func:`agreement.pixel_study.pixel_agreement`.
    loo : LeaveOneOut or None
        :func:`agreement.consensus.leave_one_out`.
    coincidence : DataFrame or None
        :func:`agreement.batch.coincidence_frame`.
    validation : DataFrame or None
        :func:`agreement.validate.validate`.
    """

    pq: Any = None
    disagreement: Any = None
    pixel: Any = None
    loo: Any = None
    coincidence: pd.DataFrame | None = None
    validation: pd.DataFrame | None = None

    def __repr__(self) -> str:
        done = [(p, getattr(self, p)) for p in PARTS if getattr(self, p) is not None]
        text = ", ".join(f"{p}=<{len(v)} rows>" if isinstance(v, pd.DataFrame) else f"{p}={v!r}"
                         for p, v in done)
        return f"Analysis({text})"


class ImageMaps:
    """One image's decoded maps and what several kernels derive from them (computed once).

    Attributes
    ----------
    image : str
    annotations : dict of str to PanopticAnnotation
        The readable annotations, in study order (their ``compact`` maps are cached).
    loaded : object
        What the loader returned (the validation loader's :class:`~agreement.validate.Loaded`
        when validation is asked for, else the annotations).
    """

    def __init__(self, image: str, annotations: dict[str, PanopticAnnotation],
                 loaded: Any = None) -> None:
        self.image = image
        self.annotations = annotations
        self.loaded = annotations if loaded is None else loaded
        self._labels: dict[tuple[int, ...], dict[str, npt.NDArray[np.int32]]] = {}

    def labels(self, ids: Sequence[int]) -> dict[str, npt.NDArray[np.int32]]:
        """Category map per annotator (:func:`agreement.metrics.pixel.label_map`)."""
        from .metrics.pixel import label_map

        key = tuple(ids)
        if key not in self._labels:
            self._labels[key] = {a: label_map(ann, key) for a, ann in self.annotations.items()}
        return self._labels[key]

    @cached_property
    def matches(self) -> dict[tuple[str, str], npt.NDArray[np.int64]]:
        """:func:`~agreement.disagreement.match_lut` of every annotator pair (a before b)."""
        from .consensus import pair_luts

        return pair_luts(self.annotations)


Kernel = Callable[[ImageMaps], Any]


@dataclass(frozen=True)
class _Plan:
    """One part: its per-image kernel (picklable), the images it runs on (None: all of the
    pass), and how to assemble the per-image results (run in this process)."""

    kernel: Kernel
    images: frozenset[str] | None
    assemble: Callable[[list], Any]


def _pq(study: Study, images: Sequence[str] | None, **options: Any) -> _Plan:
    from .study import _assemble, _kernel, _plan

    names, todo, opts = _plan(study, images=images, **options)
    kernel = _on_anns(partial(_kernel, names=names, options=opts))
    return _Plan(kernel, frozenset(todo), lambda parts: _assemble(parts, study, names,
                                                                  tuple(todo), opts))


def _disagreement(study: Study, images: Sequence[str] | None, *, d: int | None = None,
                  void: str = "label", pixel_void: str = "exclude",
                  min_disagreement: float = 0.0, min_area: int | None = None) -> _Plan:
    from .pixel_study import _disagreement_part, _fold

    work = partial(_disagreement_part, study_annotators=study.annotators,
                   cats=study.categories, d=d, void=void, pixel_void=pixel_void,
                   min_disagreement=min_disagreement, min_area=min_area)
    return _Plan(partial(_shared, work=work, matches="matches", ids=tuple(study.categories)),
                 None, lambda parts: _fold(parts, study, pixel_void=pixel_void))


def _pixel(study: Study, images: Sequence[str] | None, *, void: str = "exclude") -> _Plan:
    from .pixel_study import _pixel_part, _pixel_total

    ids = tuple(study.categories)
    work = partial(_pixel_part, annotators=study.annotators, ids=ids, void=void)
    return _Plan(partial(_shared, work=work, ids=ids), None,
                 lambda parts: _pixel_total(parts, study, void=void))


def _loo(study: Study, images: Sequence[str] | None, *, min_share: float = 0.5,
         void: str = "label") -> _Plan:
    from .consensus import _loo_fold, _loo_part

    work = partial(_loo_part, cats=study.categories, min_share=min_share, void=void)
    return _Plan(partial(_shared, work=work, matches="luts", ids=tuple(study.categories)), None,
                 lambda parts: _loo_fold(parts, study))


def _coincidence(study: Study, images: Sequence[str] | None) -> _Plan:
    from .batch import _coincidence_fold, _image_coincidence

    ids = tuple(sorted(study.categories))
    work = partial(_image_coincidence, ids=list(ids))
    return _Plan(partial(_shared, work=work, ids=ids), None, _coincidence_fold)


def _validation(study: Study, images: Sequence[str] | None, *, min_area: int = 10,
                max_unlabeled: float = 0.5, crowd_min_instances: int = 2,
                crowd_cover: float = 0.5) -> _Plan:
    from .validate import _image_findings, _validation_fold

    work = partial(_image_findings, study=study, min_area=min_area, max_unlabeled=max_unlabeled,
                   crowd_min_instances=crowd_min_instances, crowd_cover=crowd_cover)
    return _Plan(partial(_on_loaded, work=work), None,
                 lambda parts: _validation_fold(parts, study))


_PLANS: dict[str, Callable[..., _Plan]] = {
    "pq": _pq, "disagreement": _disagreement, "pixel": _pixel, "loo": _loo,
    "coincidence": _coincidence, "validation": _validation}


# -- kernel adapters (module level, so partials of them pickle) -------------------------------

def _on_anns(work: Callable) -> Kernel:
    return partial(_call_anns, work=work)


def _call_anns(ctx: ImageMaps, *, work: Callable) -> Any:
    return work(ctx.image, ctx.annotations)


def _shared(ctx: ImageMaps, *, work: Callable, ids: tuple[int, ...],
            matches: str | None = None) -> Any:
    """``work(image, annotations, labels=..., [matches=...])`` with the image's shared category
    maps over ``ids`` and, as keyword ``matches``, its pairwise matching; an image with fewer
    than two annotations has nothing to share (the kernels mostly return early there)."""
    if len(ctx.annotations) < 2:
        return work(ctx.image, ctx.annotations)
    extra = {} if matches is None else {matches: ctx.matches}
    return work(ctx.image, ctx.annotations, labels=ctx.labels(ids), **extra)


def _on_loaded(ctx: ImageMaps, *, work: Callable) -> Any:
    return work(ctx.loaded)


def _image(image: str, loaded: Any, *, kernels: tuple[tuple[str, Kernel,
                                                             frozenset[str] | None], ...],
           validating: bool) -> dict[str, Any]:
    """Run every kernel wanting ``image`` on its maps (decoded once, by the pass's loader)."""
    wanted = [(name, kernel) for name, kernel, only in kernels if only is None or image in only]
    anns = loaded.annotations if validating else loaded
    if validating and loaded.error is not None and any(n != "validation" for n, _ in wanted):
        raise loaded.error
    ctx = ImageMaps(image, anns, loaded)
    return {name: kernel(ctx) for name, kernel in wanted}


def analyse(study: Study, *, parts: Iterable[str] = PARTS,
            options: Mapping[str, Mapping[str, Any]] | None = None,
            images: Sequence[str] | None = None, n_jobs: int = 1,
            progress: bool = False) -> Analysis:
    """Compute the requested study-level parts in one pass over the images.

    Parameters
    ----------
    study : Study
    parts : iterable of str
        Any of :data:`PARTS`: ``"pq"`` (:func:`~agreement.study.evaluate`),
        ``"disagreement"``, ``"pixel"`` (:func:`~agreement.pixel_study.pixel_agreement`),
        ``"loo"`` (:func:`~agreement.consensus.leave_one_out`), ``"coincidence"``
        (:func:`~agreement.batch.coincidence_frame`), ``"validation"``
        (:func:`~agreement.validate.validate`).
    options : mapping of part to mapping, optional
        Keyword options of each part's function, e.g. ``{"pq": {"boundary": False},
        "loo": {"min_share": 0.5}}`` (``pq`` takes ``annotators``, ``boundary``,
        ``dilation_ratio``, ``diagnostic_threshold``).
    images : sequence of str, optional
        Restrict every part to these images (default: all; ``pq`` then evaluates the images at
        least two of its annotators annotated).
    n_jobs : int
        Worker processes over images (1: this process; -1: one per CPU); results are identical.
    progress : bool
        Show a progress bar over images.

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
    >>> from agreement.model import Categories, Category
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
    bad = [p for p in (*wanted, *options) if p not in PARTS]
    if bad or not wanted:
        raise StudyError(f"parts must be some of {list(PARTS)}, got {bad or wanted}")
    plans = {p: _make_plan(p, study, images, options.get(p, {})) for p in PARTS if p in wanted}
    todo = list(study.images if images is None else images)
    if set(plans) == {"pq"}:
        todo = [i for i in todo if i in plans["pq"].images]
    validating = "validation" in plans
    load: Callable[[Study, str], Any] = _annotations
    if validating:
        from .validate import _loader

        load = _loader(study)
    work = partial(_image, kernels=tuple((p, plan.kernel, plan.images)
                                         for p, plan in plans.items()), validating=validating)
    desc = _DESC[wanted[0]] if len(wanted) == 1 else "analyse"
    results: dict[str, list] = {p: [] for p in plans}
    for out in map_images(study, work, images=todo, n_jobs=n_jobs, progress=progress, desc=desc,
                          load=load):
        for p, value in out.items():
            results[p].append(value)
    return Analysis(**{p: plan.assemble(results[p]) for p, plan in plans.items()})


def _make_plan(part: str, study: Study, images: Sequence[str] | None,
               options: Mapping[str, Any]) -> _Plan:
    plan = _PLANS[part]
    try:
        inspect.signature(plan).bind(study, images, **options)
    except TypeError as exc:
        raise StudyError(f"options of part {part!r} must be its function's keyword options, "
                         f"got {sorted(options)}") from exc
    return plan(study, images, **options)
