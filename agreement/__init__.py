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
    "__version__",
    "load_study",
    "read_coco_panoptic",
    "write_coco_panoptic",
]
