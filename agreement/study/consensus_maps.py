"""The consensus of every image of a study, exported as the pass makes it
(:func:`export_consensus`).

The consensus of an image and its vote layer
(:func:`agreement.image.voting.consensus_votes_of`: pixel majority with instance grouping, both
counted per tuple of segments) are made where the image is read, by :class:`ConsensusPart`'s
kernel. A chunk's maps travel back with the chunk and are handed, image by image and in image
order, to :func:`agreement.io.write_consensus`, which writes each vote PNG and the image's part
of the export at once and keeps nothing of it: no more than the chunks in flight are ever held,
and workers need no access to the output folder. The pass is driven by the writer
(:func:`agreement.study.runner.stream`), so it advances as fast as the export is written; other
parts may run in the same pass (``agreement disagreement --consensus``).

Tool references: the consensus of an image carries the ``tool_ref`` of the first annotator (in
study order) whose export comes from the output's tool (CVAT for ``"cvat"``, Label Studio for
``"label-studio"``), else the first annotator's: the CVAT XML then names the task's images and
frames, and the Label Studio tasks point at the uploaded image, so each tool matches its images.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from ..errors import AnnotationError, StudyError
from ..image.maps import ImageMaps
from ..image.voting import consensus_votes_of
from ..io.consensus_export import CONSENSUS_FORMATS, ConsensusExport, write_consensus
from ..metrics.pixel import VoidMode, _check_void
from ..model import PanopticAnnotation, Study, ToolRef, VoteLayer
from .runner import Part, stream

__all__ = ["ConsensusPart", "ImageConsensus", "consensus_pass", "export_consensus"]

#: Columns of :class:`ConsensusPart`'s result (one row per image).
ROW_COLUMNS = ["image", "annotators", "tie_pixels", "weak_pixels"]
#: The tool whose references each output format keeps.
FORMAT_TOOL = {"cvat": "cvat", "label-studio": "labelstudio", "coco-panoptic": None}


@dataclass(frozen=True, eq=False)
class ImageConsensus:
    """One image's consensus as the kernel makes it.

    Attributes
    ----------
    image : str
        The study's image name.
    annotation : PanopticAnnotation
        The consensus map (its ``image.tool_ref`` chosen as the module notes say).
    votes : VoteLayer
    row : dict
        ``image``, ``annotators`` (how many voted), ``tie_pixels``, ``weak_pixels``.
    """

    image: str
    annotation: PanopticAnnotation
    votes: VoteLayer
    row: dict


def _ref(maps: ImageMaps, names: Sequence[str], tool: str | None) -> ToolRef | None:
    refs = [maps.annotations[a].image.tool_ref for a in names]
    if tool is not None:
        own = next((r for r in refs if r is not None and r.tool == tool), None)
        if own is not None:
            return own
    return refs[0] if refs else None


@dataclass(frozen=True)
class ConsensusPart(Part[list, pd.DataFrame]):
    """Each image's consensus and vote layer (the kernel's partial: a list of
    :class:`ImageConsensus`); the total keeps only their rows of counts, the result is
    one row per image (:data:`ROW_COLUMNS`). Consume the maps with
    :func:`agreement.study.runner.stream` (as :func:`consensus_pass` does): :func:`run`
    folds them away.

    Parameters
    ----------
    min_share : float
        The winning category needs strictly more than this share of the voting annotators.
    void : {"label", "exclude"}
    tool : {"cvat", "labelstudio"} or None
        Whose tool references the consensus keeps (see the module notes).
    """

    min_share: float = 0.5
    void: VoidMode = "label"
    tool: str | None = None

    name = "consensus"
    label = "consensus"

    def __post_init__(self) -> None:
        _check_void(self.void)
        if not 0 <= self.min_share < 1:
            raise AnnotationError(f"min_share must be in [0, 1), got {self.min_share}")
        if self.tool not in (None, "cvat", "labelstudio"):
            raise StudyError(f"tool must be 'cvat', 'labelstudio' or None, got {self.tool!r}")

    def kernel(self, maps: ImageMaps) -> list[ImageConsensus]:
        if not maps.annotations:
            return []
        cons, votes = consensus_votes_of(maps, min_share=self.min_share, void=self.void,
                                         image=maps.image)
        ann = cons.annotation
        ref = _ref(maps, cons.annotators, self.tool)
        if ref is not ann.image.tool_ref:
            ann = PanopticAnnotation(replace(ann.image, tool_ref=ref), ann.ids, ann.segments)
        row = {"image": maps.image, "annotators": len(cons.annotators),
               "tie_pixels": cons.tie_pixels, "weak_pixels": cons.weak_pixels}
        return [ImageConsensus(maps.image, ann, votes, row)]

    def merge(self, a: list, b: list) -> list:
        return a + b

    def fold(self, total: list | None, chunk: list[ImageConsensus]) -> list[dict]:
        return [*(total or []), *(c.row for c in chunk)]

    def finish(self, total: list | None, study: Study) -> pd.DataFrame:
        return pd.DataFrame(total or [], columns=ROW_COLUMNS)


def consensus_pass(
    study: Study,
    out: str | os.PathLike[str],
    parts: Sequence[Part] = (),
    *,
    format: str = "coco-panoptic",
    min_share: float = 0.5,
    void: VoidMode = "label",
    images: Sequence[str] | None = None,
    n_jobs: int = 1,
    progress: bool = False,
    executor: Any = None,
    options: Mapping[str, Any] | None = None,
    desc: str = "consensus",
) -> tuple[ConsensusExport, list]:
    """Export the consensus of every image (as :func:`export_consensus`) while ``parts`` run in
    the same pass; return the export and the parts' results."""
    if format not in CONSENSUS_FORMATS:
        raise StudyError(f"format must be one of {sorted(CONSENSUS_FORMATS)}, got {format!r}")
    part = ConsensusPart(min_share, void, FORMAT_TOOL[format])
    others = list(parts)
    totals: list = [None] * len(others)

    def items() -> Iterator[tuple]:
        for partials in stream(study, [part, *others], images=images, n_jobs=n_jobs,
                               progress=progress, executor=executor, desc=desc):
            for k, (p, c) in enumerate(zip(others, partials[1:], strict=True)):
                if c is not None:
                    totals[k] = p.fold(totals[k], c)
            chunk = partials[0] or []
            del partials
            chunk.reverse()
            while chunk:  # hand each image on and drop it
                c = chunk.pop()
                yield c.image, c.annotation, c.votes, {k: c.row[k] for k in ROW_COLUMNS[1:]}
                del c

    method = {"min_share": min_share, "void": void, "annotators": list(study.annotators),
              "tool_references": _tool_note(format)}
    export = write_consensus(items(), study.categories, out, format=format, method=method,
                             options=options)
    return export, [p.finish(t, study) for p, t in zip(others, totals, strict=True)]


def _tool_note(format: str) -> str:
    tool = FORMAT_TOOL[format]
    if tool is None:
        return "none (COCO panoptic names images by file name)"
    name = {"cvat": "CVAT", "labelstudio": "Label Studio"}[tool]
    return (f"each image keeps the {name} references of the first annotator whose export comes "
            f"from {name} (image name{', frame' if tool == 'cvat' else ' as the task data'}), "
            "else its file name")


def export_consensus(
    study: Study,
    out: str | os.PathLike[str],
    *,
    format: str = "coco-panoptic",
    min_share: float = 0.5,
    void: VoidMode = "label",
    images: Sequence[str] | None = None,
    n_jobs: int = 1,
    progress: bool = False,
    executor: Any = None,
    options: Mapping[str, Any] | None = None,
) -> ConsensusExport:
    """Write the consensus of every image of a study, in one pass, as a tool's import file
    with the per-pixel votes beside it.

    The consensus (:func:`agreement.consensus`): the category of a pixel is the one most
    annotators gave it; a tie for the largest vote, or a winning category with no more than
    ``min_share`` of the votes, leaves the pixel void (*no majority*, counted and marked in the
    vote PNG). Segments of different annotators matched to each other (same category, IoU >
    0.5) form one consensus instance; every stuff category is one segment.

    Parameters
    ----------
    study : Study
    out
        The output folder, written all or nothing (absent, empty, or a previous consensus
        export); see :func:`agreement.io.write_consensus` for what it holds.
    format : {"coco-panoptic", "cvat", "label-studio"}
    min_share : float
        In ``[0, 1)``: 0.5 (default) asks for a strict majority; 0 takes any untied plurality.
    void : {"label", "exclude"}
        ``"label"``: leaving a pixel void is a vote for void; ``"exclude"``: only annotators
        who label a pixel vote.
    images : sequence of str, optional
        Only these images (default: all).
    n_jobs, executor, progress
        As for every pass (:func:`agreement.study.runner.run`); the files written are the
        same, byte for byte, whatever runs the pass.
    options : mapping, optional
        Passed to the format's writer (Label Studio: ``image_url``, ``as_predictions``, ...;
        CVAT: ``names``, ``task_name``).

    Returns
    -------
    ConsensusExport
        Its ``counts``: one row per image (``segments``, ``void_pixels``,
        ``no_majority_pixels``, ``mean_agreement``, ``annotators``, ``tie_pixels``,
        ``weak_pixels``), also in ``consensus_counts.csv``.

    Raises
    ------
    AgreementError
        ``out`` holds other files (nothing touched).
    AnnotationError, StudyError
        Unreadable annotations, an unknown format, bad options; the previous folder, if any,
        is left as it was.

    Examples
    --------
    >>> from agreement.io import load_study
    >>> study = load_study("data/sample/batch1")  # doctest: +SKIP
    >>> export_consensus(study, "consensus_cvat", format="cvat").export  # doctest: +SKIP
    PosixPath('consensus_cvat/annotations.xml')
    """
    return consensus_pass(study, out, format=format, min_share=min_share, void=void,
                          images=images, n_jobs=n_jobs, progress=progress, executor=executor,
                          options=options)[0]
