"""Readers and writers: the only part of ``agreement`` that opens files.

Every name is loaded from its module on first use (:mod:`agreement._lazy`): a command that reads
COCO panoptic does not import the BSDS reader (scipy.io) nor the writers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

if TYPE_CHECKING:
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

#: Public name -> the module of this package that defines it.
_NAMES = {
    "CocoPanopticSource": "coco_panoptic",
    "ConsensusExport": "consensus_export",
    "Limits": "_limits",
    "ShapeSource": "layers",
    "StudyInput": "study_file",
    "annotation_from_labels": "label_maps",
    "cvat_labels": "cvat_write",
    "detect_format": "study_loader",
    "discover": "study_loader",
    "expand_sources": "study_loader",
    "find_photo": "photos",
    "id2rgb": "coco_panoptic",
    "labeling_config": "labelstudio_write",
    "load_bsds_study": "bsds",
    "load_source": "study_loader",
    "load_study": "study_loader",
    "open_study": "study_loader",
    "paint": "layers",
    "read_bsds": "bsds",
    "read_coco_instances": "coco_instances",
    "read_coco_panoptic": "coco_panoptic",
    "read_cvat": "cvat",
    "read_cvat_sources": "cvat",
    "read_label_maps": "label_maps",
    "read_labelstudio": "labelstudio",
    "read_labelstudio_sources": "labelstudio",
    "read_photo": "photos",
    "rgb2id": "coco_panoptic",
    "write_coco_panoptic": "coco_panoptic",
    "write_consensus": "consensus_export",
    "write_cvat": "cvat_write",
    "write_labelstudio": "labelstudio_write",
}

__getattr__, __dir__ = lazy_attributes(__name__, _NAMES, globals())

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
