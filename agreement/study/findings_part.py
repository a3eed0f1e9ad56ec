"""The findings as a part of the pass (:class:`FindingsPart`): who does what systematically.

The kernel reads what the pass already holds for an image (:func:`agreement.diagnosis.
maps_record`: the tuples, the pair tables, the leave-one-out consensus shared with
:class:`agreement.study.loo.LooPart`) and returns one small record (a few kB, whatever the
image size); records fold by concatenation, in image order, into a temporary file
(:class:`agreement._spool.Spool`) read back twice by the finish, which tests the whole study
(:func:`agreement.diagnosis.finish`). :func:`agreement.diagnosis.find` runs this part alone;
the report runs it with the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .._spool import Spool
from ..diagnosis._finish import Options, study_table, tested
from ..diagnosis._kernel import ImageRecord, PackedRecord, maps_record, unpacked
from ..diagnosis.records import Findings
from ..image.maps import ImageMaps
from ..model import Study
from .runner import Part

__all__ = ["FindingsPart", "RecordsPart"]


@dataclass(frozen=True)
class FindingsPart(Part[list, Findings]):
    """:func:`agreement.diagnosis.find` as a part of a pass (its :class:`Options`)."""

    options: Options = field(default_factory=Options)

    name = "findings"
    label = "findings"

    def __post_init__(self) -> None:
        if not isinstance(self.options, Options):
            raise TypeError(f"options must be agreement.diagnosis.Options, got "
                            f"{type(self.options).__name__}")

    def kernel(self, maps: ImageMaps) -> list[PackedRecord]:
        """The image's record, packed (a tenth of its tables' size: held until the finish)."""
        rec = maps_record(maps, band_ratio=self.options.band_ratio,
                          min_share=self.options.min_share)
        return [] if rec is None else [PackedRecord(rec)]

    def merge(self, a: list[PackedRecord], b: list[PackedRecord]) -> list[PackedRecord]:
        return a + b

    def fold(self, total: Spool | None, chunk: list[PackedRecord]) -> Spool:
        """The chunk's records appended to the total's temporary file (a few kB an image:
        ~40 MB at 10,000 images of three annotators would otherwise be held until the finish)."""
        total = Spool() if total is None else total
        total.extend(chunk)
        return total

    def finish(self, total: Spool | list[PackedRecord] | None, study: Study) -> Findings:
        records = [] if total is None else total
        # read twice, in order (the family's counts, then its columns, written to temporary
        # files); the box lets the tests close the table before their bootstrap
        try:
            box = [study_table(unpacked(records), study, self.options)]
        finally:
            _close(records)
        return tested(box, study, self.options)


def _close(records: Spool | list) -> None:
    if isinstance(records, Spool):
        records.close()
    else:
        records.clear()


@dataclass(frozen=True)
class RecordsPart(FindingsPart):
    """The per-image records only (:func:`agreement.diagnosis.records`)."""

    name = "findings_records"

    def finish(self, total: Spool | list[PackedRecord] | None, study: Study
               ) -> list[ImageRecord]:
        records = [] if total is None else total
        try:
            return list(unpacked(records))
        finally:
            _close(records)
