"""Readers and writers: the only part of ``agreement`` that opens files."""

from .bsds import load_bsds_study, read_bsds
from .coco_panoptic import CocoPanopticSource, id2rgb, read_coco_panoptic, rgb2id, write_coco_panoptic
from .label_maps import annotation_from_labels, read_label_maps
from .study_loader import load_study

__all__ = [
    "CocoPanopticSource",
    "annotation_from_labels",
    "id2rgb",
    "load_bsds_study",
    "load_study",
    "read_bsds",
    "read_coco_panoptic",
    "read_label_maps",
    "rgb2id",
    "write_coco_panoptic",
]
