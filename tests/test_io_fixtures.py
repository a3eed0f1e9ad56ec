"""Every real export fixture loads through auto-detection (or is refused with a clear message)."""

from pathlib import Path

import numpy as np
import pytest

from agreement.errors import AnnotationError, FormatError
from agreement.io.study_loader import detect_format, expand_sources, load_study
from agreement.model import AnnotationSource

FIX = Path(__file__).parent / "data" / "fixtures"

LOADABLE = {
    "coco_panoptic/panopticapi/sample_data/panoptic_examples.json": ("coco_panoptic", 1, 2),
    "coco_panoptic/panopticapi/sample_data/panoptic_coco_detection_format.json":
        ("coco_instances", 1, 2),
    "coco_panoptic_and_instances/datumaro/coco_panoptic/annotations/panoptic_val.json":
        ("coco_panoptic", 1, 1),
    "coco_panoptic_and_instances/datumaro/coco_instances/annotations/instances_train.json":
        ("coco_instances", 1, 1),
    "coco_panoptic_and_instances/datumaro/coco_instances/annotations/instances_val.json":
        ("coco_instances", 1, 1),
    "cvat/cvat_docs_example/annotations_image_mode_example.xml": ("cvat", 1, 1),
    "cvat/datumaro_export_project/annotations.xml": ("cvat", 1, 6),
    "cvat/datumaro_export_task/train.xml": ("cvat", 1, 2),
    "cross_tool_cats_MaxKuklaVod/cvat_job_export/annotations.xml": ("cvat", 1, 14),
    "cross_tool_cats_MaxKuklaVod/label_studio_export/project-1-at-2025-06-19-14-54-b0c66fa7.json":
        ("labelstudio", 1, 14),
    "label_studio/sdk_tests/test_export_coco/data.json": ("labelstudio", 1, 1),
    "label_studio/sdk_tests/test_export_yolo/data.json": ("labelstudio", 2, 2),
    "label_studio/sdk_tests/test_export_yolo/data_polygons.json": ("labelstudio", 1, 1),
    "label_studio/sdk_tests/test_export_json_min/data.json": ("labelstudio", 1, 1),
    "label_studio/sdk_tests/test_export_csv/csv_test.json": ("labelstudio", 1, 2),
    "label_studio/brush_ml_backend/test_brush_labels.json": ("labelstudio", 1, 1),
}


def test_every_fixture_is_listed():
    exports = {str(p.relative_to(FIX)) for p in FIX.rglob("*") if p.suffix in (".json", ".xml")}
    not_exports = {p for p in exports if "label_config" in p or "categories" in p
                   or "images_info" in p or p.endswith("-info.json")}
    assert exports - not_exports == set(LOADABLE) | set(BROKEN)


@pytest.mark.parametrize("rel", sorted(LOADABLE))
def test_fixture_loads_and_paints(rel):
    fmt, n_annotators, n_images = LOADABLE[rel]
    path = FIX / rel
    assert detect_format(path) == fmt
    sources = expand_sources(path)
    assert len(sources) == n_annotators
    images = set()
    for src in sources.values():
        assert isinstance(src, AnnotationSource)
        for info in src.images:
            images.add(info.file_name)
            if info.height * info.width > 4_000_000:
                continue  # the 14 cat photos hold boxes only; painting them is slow and empty
            ann = src.load(info.file_name)
            assert ann.shape == (info.height, info.width)
            assert set(np.unique(ann.ids)) <= {0, *ann.segment_ids.tolist()}
    assert len(images) == n_images


#: Fixtures whose content is inconsistent: refused with a message naming file and image.
BROKEN = {
    # Datumaro's test asset: the JSON says 10x5, the PNG is 5x5 (and area 20 vs 25 pixels)
    "coco_panoptic_and_instances/datumaro/coco_panoptic/annotations/panoptic_train.json":
        r"panoptic_train/a\.png', image 'a\.jpg': PNG size must equal the JSON's image size 10x5",
}


@pytest.mark.parametrize("rel", sorted(BROKEN))
def test_broken_fixture_is_refused_clearly(rel):
    (src,) = expand_sources(FIX / rel).values()
    with pytest.raises(AnnotationError, match=BROKEN[rel]):
        src.load(src.images[0].file_name)


@pytest.mark.parametrize("rel", [
    "cross_tool_cats_MaxKuklaVod/label_studio_export/project-1-at-2025-06-19-14-54-b0c66fa7-info.json",
    "coco_panoptic/panopticapi/sample_data/images_info_examples.json",
    "label_studio/sdk_tests/test_export_coco/label_config.xml",
])
def test_non_exports_are_refused_clearly(rel):
    with pytest.raises(FormatError, match=r"file must be a known annotation export|list of tasks"):
        expand_sources(FIX / rel)


def test_cvat_project_with_subsets_loads_as_a_study():
    study = load_study({"p": FIX / "cvat" / "datumaro_export_project" / "annotations.xml"})
    assert study.images == ("Test:img0.jpg", "Test:img1.jpg", "Train:img0.jpg",
                            "Train:img1.jpg", "Validation:img0.jpg", "Validation:img1.jpg")


def test_cross_tool_study_matches_names_across_cvat_and_labelstudio(tmp_path):
    base = FIX / "cross_tool_cats_MaxKuklaVod"
    study = load_study({"cvat": base / "cvat_job_export" / "annotations.xml",
                        "ls": base / "label_studio_export" /
                        "project-1-at-2025-06-19-14-54-b0c66fa7.json"})
    # Label Studio's 8-hex upload prefixes are stripped, so all 14 images align
    assert len(study.images) == 14
    assert len(study.shared_images()) == 14
