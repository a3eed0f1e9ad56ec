"""Findings that hold beyond the sample: who does what systematically, tested against the study's
own noise.

:func:`find` compares every annotator, image by image, with the consensus of the others, per
class, class pair and kind (:data:`KINDS`), and keeps what stands out from the other annotators
judged over images (permutation tests, multiplicity controlled, a minimum practical effect per
kind). The result, :class:`Findings`, is ranked by impact and holds :class:`Finding` records
(``.to_frame()``, ``.to_dict()`` = ``findings.json``). See docs/findings.md.
"""

from ._examples import example_regions, with_examples
from ._find import find, records
from ._finish import KINDS, MIN_EFFECT, Options, finish
from ._kernel import ImageRecord, image_record, maps_record
from .records import FINDING_COLUMNS, Finding, Findings

__all__ = ["FINDING_COLUMNS", "KINDS", "MIN_EFFECT", "Finding", "Findings", "ImageRecord",
           "Options", "example_regions", "find", "finish", "image_record", "maps_record",
           "records", "with_examples"]
