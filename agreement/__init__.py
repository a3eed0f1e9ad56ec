"""agreement: inter-annotator agreement for panoptic segmentation.

Read each annotator's export into one canonical panoptic map per image, match segments between
annotators, and measure where and about what they disagree.
"""

from .errors import AgreementError, AnnotationError, FormatError, PathEscapeError, StudyError
from .io import load_study, read_coco_panoptic, write_coco_panoptic
from .model import Categories, Category, ImageInfo, PanopticAnnotation, Segment, Study

__version__ = "0.1.0"

__all__ = [
    "AgreementError",
    "AnnotationError",
    "Categories",
    "Category",
    "FormatError",
    "ImageInfo",
    "PanopticAnnotation",
    "PathEscapeError",
    "Segment",
    "Study",
    "StudyError",
    "StudyResult",
    "__version__",
    "evaluate",
    "load_study",
    "read_coco_panoptic",
    "write_coco_panoptic",
]


def __getattr__(name: str) -> object:
    """``evaluate`` and ``StudyResult`` load the metric stack (scipy) on first use only."""
    if name in ("evaluate", "StudyResult"):
        from . import study

        return getattr(study, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
