"""agreement: inter-annotator agreement for panoptic segmentation.

Read each annotator's export into one canonical panoptic map per image, match segments between
annotators, and measure where and about what they disagree.
"""

from ._version import __version__
from .errors import AgreementError, AnnotationError, FormatError, PathEscapeError, StudyError
from .model import Categories, Category, ImageInfo, MemorySource, PanopticAnnotation, Segment, Study

#: Names loaded on first use (module, attribute): they pull in readers, scipy, pandas,
#: matplotlib or the report templates, so ``import agreement`` stays light.
_LAZY = {
    "load_study": ("io.study_loader", "load_study"),
    "read_coco_panoptic": ("io.coco_panoptic", "read_coco_panoptic"),
    "write_coco_panoptic": ("io.coco_panoptic", "write_coco_panoptic"),
    "analyse": ("study.analysis", "analyse"),
    "Analysis": ("study.analysis", "Analysis"),
    "evaluate": ("study.pq", "evaluate"),
    "StudyResult": ("study.pq_result", "StudyResult"),
    "disagreement": ("study.disputes", "disagreement"),
    "pixel_agreement": ("study.pixels", "pixel_agreement"),
    "StudyDisagreement": ("study.disputes", "StudyDisagreement"),
    "consensus": ("image.voting", "consensus"),
    "export_consensus": ("study.consensus_maps", "export_consensus"),
    "review_queue": ("study.review", "review_queue"),
    "leave_one_out": ("study.loo", "leave_one_out"),
    "human_consistency": ("study.consistency", "human_consistency"),
    "validate": ("study.validation", "validate"),
    "Batch": ("compare.batch", "Batch"),
    "compare_batches": ("compare.comparison", "compare_batches"),
    "build_report": ("report.build", "build_report"),
    "write_report": ("report.write", "write_report"),
    "read_photo": ("io.photos", "read_photo"),
}

__all__ = [
    "AgreementError",
    "Analysis",
    "AnnotationError",
    "Batch",
    "Categories",
    "Category",
    "FormatError",
    "ImageInfo",
    "MemorySource",
    "PanopticAnnotation",
    "PathEscapeError",
    "Segment",
    "Study",
    "StudyDisagreement",
    "StudyError",
    "StudyResult",
    "__version__",
    "analyse",
    "build_report",
    "compare_batches",
    "consensus",
    "disagreement",
    "evaluate",
    "export_consensus",
    "human_consistency",
    "leave_one_out",
    "load_study",
    "pixel_agreement",
    "read_coco_panoptic",
    "read_photo",
    "review_queue",
    "validate",
    "write_coco_panoptic",
    "write_report",
]


def __getattr__(name: str) -> object:
    """Load the names of ``_LAZY`` (the metric stack, plots, the report) on first use only."""
    if name in _LAZY:
        from importlib import import_module

        module, attr = _LAZY[name]
        value = getattr(import_module(f"{__name__}.{module}"), attr)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
