"""Readers and writers: the only part of ``agreement`` that opens files."""

from .coco_panoptic import CocoPanopticSource, id2rgb, read_coco_panoptic, rgb2id, write_coco_panoptic
from .study_loader import load_study

__all__ = [
    "CocoPanopticSource",
    "id2rgb",
    "load_study",
    "read_coco_panoptic",
    "rgb2id",
    "write_coco_panoptic",
]
