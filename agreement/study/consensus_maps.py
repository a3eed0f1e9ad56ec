"""Write the consensus map of every image of a study as COCO panoptic, as the pass makes them
(:func:`write_consensus`).

The consensus of an image (:func:`agreement.image.voting.consensus_of`) is made where the image
is read; a chunk's maps travel back with it and are written, each PNG at once, by the process
that runs the pass (:class:`agreement.io.coco_panoptic.CocoPanopticWriter`), so no more than a
chunk of maps is ever held, and workers need no access to the output folder. The JSON is written
last.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..image.maps import ImageMaps
from ..image.voting import Consensus, consensus_of
from ..io.coco_panoptic import CocoPanopticWriter
from ..metrics.pixel import VoidMode, _check_void
from ..model import Categories, Study
from .runner import Part, run

__all__ = ["ConsensusMapsPart", "write_consensus"]

COUNT_COLUMNS = ["image", "annotators", "segments", "void_pixels", "tie_pixels", "weak_pixels"]


@dataclass
class _Written:
    """The writer and the counts of the maps written so far."""

    writer: CocoPanopticWriter
    rows: list[dict]


@dataclass(frozen=True)
class ConsensusMapsPart(Part[list, pd.DataFrame]):
    """Write each image's consensus to ``json_path`` (PNGs in ``png_dir``, default the JSON
    path without ``.json``; the study's ``categories``); the result is one row of counts per
    image (:meth:`agreement.image.voting.Consensus.to_dict`)."""

    categories: Categories
    json_path: str = "consensus.json"
    png_dir: str | None = None
    min_share: float = 0.5
    void: VoidMode = "label"

    name = "consensus"
    label = "consensus"

    def __post_init__(self) -> None:
        _check_void(self.void)

    def kernel(self, maps: ImageMaps) -> list[Consensus]:
        if not maps.annotations:
            return []
        return [consensus_of(maps, min_share=self.min_share, void=self.void, image=maps.image)]

    def merge(self, a: list, b: list) -> list:
        return a + b

    def fold(self, total: _Written | None, chunk: list[Consensus]) -> _Written:
        if total is None:
            total = _Written(CocoPanopticWriter(self.categories, self.json_path, self.png_dir),
                             [])
        for cons in chunk:
            total.writer.add(cons.annotation)
            total.rows.append(cons.to_dict())
        return total

    def finish(self, total: _Written | None, study: Study) -> pd.DataFrame:
        if total is None:
            total = _Written(CocoPanopticWriter(self.categories, self.json_path, self.png_dir),
                             [])
        total.writer.close()
        return pd.DataFrame(total.rows, columns=COUNT_COLUMNS)


def write_consensus(study: Study, json_path: str | os.PathLike[str], *,
                    png_dir: str | os.PathLike[str] | None = None, min_share: float = 0.5,
                    void: VoidMode = "label", images: Iterable[str] | None = None,
                    n_jobs: int = 1, progress: bool = False, executor: Any = None
                    ) -> pd.DataFrame:
    """Write the consensus of every image (:func:`agreement.image.voting.consensus`) as COCO
    panoptic, in one pass; returns per image ``image``, ``annotators``, ``segments``,
    ``void_pixels``, ``tie_pixels``, ``weak_pixels``."""
    part = ConsensusMapsPart(study.categories, os.fspath(json_path),
                             None if png_dir is None else os.fspath(png_dir), min_share, void)
    images = None if images is None else list(images)
    return run(study, [part], images=images, n_jobs=n_jobs, progress=progress,
               executor=executor)[0]
