"""Readers and writers: the only part of ``agreement`` that opens files."""

from ._limits import Limits
from .bsds import load_bsds_study, read_bsds
from .coco_instances import read_coco_instances
from .coco_panoptic import (
    CocoPanopticSource,
    id2rgb,
    read_coco_panoptic,
    rgb2id,
    write_coco_panoptic,
)
from .consensus_export import ConsensusExport, write_consensus
from .cvat import read_cvat, read_cvat_sources
from .cvat_write import cvat_labels, write_cvat
from .label_maps import annotation_from_labels, read_label_maps
from .labelstudio import read_labelstudio, read_labelstudio_sources
from .labelstudio_write import labeling_config, write_labelstudio
from .layers import ShapeSource, paint
from .photos import find_photo, read_photo
from .study_file import StudyInput
from .study_loader import (
    detect_format,
    discover,
    expand_sources,
    load_source,
    load_study,
    open_study,
)

__all__ = [
    "CocoPanopticSource",
    "ConsensusExport",
    "Limits",
    "ShapeSource",
    "StudyInput",
    "annotation_from_labels",
    "cvat_labels",
    "detect_format",
    "discover",
    "expand_sources",
    "find_photo",
    "id2rgb",
    "labeling_config",
    "load_bsds_study",
    "load_source",
    "load_study",
    "open_study",
    "paint",
    "read_bsds",
    "read_coco_instances",
    "read_coco_panoptic",
    "read_cvat",
    "read_cvat_sources",
    "read_label_maps",
    "read_labelstudio",
    "read_labelstudio_sources",
    "read_photo",
    "rgb2id",
    "write_coco_panoptic",
    "write_consensus",
    "write_cvat",
    "write_labelstudio",
]
