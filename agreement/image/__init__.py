"""One image, N annotations, no study: what every per-image kernel reads, and the kernels.

- :class:`ImageMaps` (:mod:`.maps`): the decoded annotations of one image, their label maps,
  boundary bands, votes and the joint table of each annotator pair, each built once;
- :func:`evaluate_pairs` (:mod:`.pairs`): PQ and Boundary PQ of every ordered pair;
- :func:`heatmaps` (:mod:`.disagreement`): where the annotators disagree, per pixel;
- :func:`ambiguous_regions` (:mod:`.regions`): connected areas of disagreement, described;
- :func:`count_votes` (:mod:`.votes`): how the annotators vote at every position;
- :func:`consensus` (:mod:`.voting`): the majority-vote consensus panoptic map;
- :func:`map_findings`, :func:`cross_findings` (:mod:`.checks`): validation checks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

if TYPE_CHECKING:
    from .checks import cross_findings, map_findings
    from .disagreement import (
        Heatmaps,
        area_average,
        boundary_distance,
        boundary_near,
        heatmaps,
        match_lut,
    )
    from .maps import ImageMaps, Loaded, PairTable
    from .pairs import Direction, evaluate_pairs
    from .regions import REGION_COLUMNS, ambiguous_regions
    from .votes import Votes, count_votes
    from .voting import Consensus, consensus

#: Public name -> the module of this package that defines it (loaded on first use).
_NAMES = {
    "Consensus": "voting",
    "Direction": "pairs",
    "Heatmaps": "disagreement",
    "ImageMaps": "maps",
    "Loaded": "maps",
    "PairTable": "maps",
    "REGION_COLUMNS": "regions",
    "Votes": "votes",
    "ambiguous_regions": "regions",
    "area_average": "disagreement",
    "boundary_distance": "disagreement",
    "boundary_near": "disagreement",
    "consensus": "voting",
    "count_votes": "votes",
    "cross_findings": "checks",
    "evaluate_pairs": "pairs",
    "heatmaps": "disagreement",
    "map_findings": "checks",
    "match_lut": "disagreement",
}

__getattr__, __dir__ = lazy_attributes(__name__, _NAMES, globals())

__all__ = [
    "REGION_COLUMNS",
    "Consensus",
    "Direction",
    "Heatmaps",
    "ImageMaps",
    "Loaded",
    "PairTable",
    "Votes",
    "ambiguous_regions",
    "area_average",
    "boundary_distance",
    "boundary_near",
    "consensus",
    "count_votes",
    "cross_findings",
    "evaluate_pairs",
    "heatmaps",
    "map_findings",
    "match_lut",
]
