"""Study-level analyses: the runner (one pass over the images, any executor) and its parts.

Each analysis is a part (:class:`agreement.study.runner.Part`) in its own module; the public
functions build their part and run it:

- :func:`evaluate` (:mod:`.pq`): PQ, Boundary PQ and segment diagnostics of every pair;
- :func:`disagreement` (:mod:`.disputes`): heatmaps, ambiguous regions, pixel agreement;
- :func:`pixel_agreement` (:mod:`.pixels`);
- :func:`leave_one_out` (:mod:`.loo`): each annotator against the consensus of the others;
- :func:`coincidence_frame` (:mod:`.coincidence`);
- :func:`validate` (:mod:`.validation`);
- :func:`review_queue` (:mod:`.review`): the regions to send back to the
  annotators, ranked, with the tool's references;
- :func:`export_consensus` (:mod:`.consensus_maps`): the consensus and its votes, written as a
  tool's import file as the pass makes them;
- :func:`human_consistency`, :func:`parsing_covering_by_class` (:mod:`.consistency`);
- :func:`agreement.diagnosis.find` (:mod:`.findings_part`): who does what systematically;
- :func:`analyse` (:mod:`.analysis`): several of them in one pass.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

if TYPE_CHECKING:
    from .analysis import PARTS, Analysis, analyse
    from .coincidence import coincidence_frame
    from .consensus_maps import export_consensus
    from .consistency import ConsistencyResult, human_consistency, parsing_covering_by_class
    from .disputes import AggregateHeatmap, StudyDisagreement, disagreement
    from .loo import LeaveOneOut, leave_one_out
    from .pixels import pixel_agreement
    from .pq import evaluate
    from .pq_result import StudyResult
    from .review import review_queue
    from .runner import CHUNK_SIZE, Part, run
    from .validation import validate

#: Public name -> the module of this package that defines it (loaded on first use).
_NAMES = {
    "AggregateHeatmap": "disputes",
    "Analysis": "analysis",
    "CHUNK_SIZE": "runner",
    "ConsistencyResult": "consistency",
    "LeaveOneOut": "loo",
    "PARTS": "analysis",
    "Part": "runner",
    "StudyDisagreement": "disputes",
    "StudyResult": "pq_result",
    "analyse": "analysis",
    "coincidence_frame": "coincidence",
    "disagreement": "disputes",
    "evaluate": "pq",
    "export_consensus": "consensus_maps",
    "human_consistency": "consistency",
    "leave_one_out": "loo",
    "parsing_covering_by_class": "consistency",
    "pixel_agreement": "pixels",
    "review_queue": "review",
    "run": "runner",
    "validate": "validation",
}

__getattr__, __dir__ = lazy_attributes(__name__, _NAMES, globals())

__all__ = [
    "CHUNK_SIZE",
    "PARTS",
    "AggregateHeatmap",
    "Analysis",
    "ConsistencyResult",
    "LeaveOneOut",
    "Part",
    "StudyDisagreement",
    "StudyResult",
    "analyse",
    "coincidence_frame",
    "disagreement",
    "evaluate",
    "export_consensus",
    "human_consistency",
    "leave_one_out",
    "parsing_covering_by_class",
    "pixel_agreement",
    "review_queue",
    "run",
    "validate",
]
