"""Class-agnostic readers: label-map folders (PNG / .npy) and BSDS .mat folders."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
from PIL import Image

from agreement.errors import AnnotationError, FormatError, StudyError
from agreement.io import load_study
from agreement.io.bsds import BsdsFolder, load_bsds_study, read_bsds
from agreement.io.label_maps import annotation_from_labels, read_label_maps


def write_mat(path, segmentations):
    gt = np.empty((1, len(segmentations)), dtype=object)
    for k, seg in enumerate(segmentations):
        seg = np.asarray(seg, dtype=np.uint16)
        gt[0, k] = {"Segmentation": seg, "Boundaries": np.zeros(seg.shape, np.uint8)}
    scipy.io.savemat(path, {"groundTruth": gt})


def test_annotation_from_labels_segments_and_compact():
    labels = np.array([[0, 40, 40], [7, 7, 40], [7, 0, 0]])
    ann = annotation_from_labels(labels, file_name="x")
    assert [(s.id, s.category_id, s.area, s.bbox) for s in ann.segments] == [
        (7, 1, 3, (0, 1, 2, 2)), (40, 1, 3, (1, 0, 2, 2))]
    assert ann.compact.tolist() == [[0, 2, 2], [1, 1, 2], [1, 0, 0]]
    contiguous = annotation_from_labels(np.array([[1, 2], [2, 2]]))
    assert contiguous.compact.tolist() == [[1, 2], [2, 2]]
    assert [s.area for s in contiguous.segments] == [1, 3]


def test_annotation_from_labels_errors():
    with pytest.raises(AnnotationError, match=r"image 'x': labels must be >= 0"):
        annotation_from_labels(np.array([[-1, 1]]), file_name="x")
    with pytest.raises(AnnotationError, match="2-D integer"):
        annotation_from_labels(np.zeros((2, 2, 2), int))
    with pytest.raises(AnnotationError, match="2-D integer"):
        annotation_from_labels(np.zeros((2, 2), float))


def test_label_map_folder_png_and_npy(tmp_path):
    alice = tmp_path / "alice"
    alice.mkdir()
    Image.fromarray(np.array([[0, 1], [2, 2]], np.uint8), mode="L").save(alice / "img1.png")
    Image.fromarray(np.array([[300, 300], [0, 5]], np.uint16)).save(alice / "img2.png")
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = (1, 1, 0)  # id 257
    Image.fromarray(rgb, mode="RGB").save(alice / "img3.png")
    np.save(alice / "img4.npy", np.array([[3, 3], [3, 9]], np.int32))
    (alice / "notes.txt").write_text("ignored")
    src = read_label_maps(alice)
    assert [i.file_name for i in src.images] == ["img1", "img2", "img3", "img4"]
    assert src.load("img1").ids.tolist() == [[0, 1], [2, 2]]
    assert src.load("img2").segment_ids.tolist() == [5, 300]
    assert src.load("img3").segment_ids.tolist() == [257]
    assert src.load("img4").segment_ids.tolist() == [3, 9]
    assert src.categories[1].name == "region"


def test_label_map_folder_errors(tmp_path):
    with pytest.raises(StudyError, match="must be a folder"):
        read_label_maps(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(StudyError, match=r"must hold \.png or \.npy"):
        read_label_maps(tmp_path / "empty")
    dup = tmp_path / "dup"
    dup.mkdir()
    np.save(dup / "a.npy", np.ones((2, 2), int))
    Image.fromarray(np.ones((2, 2), np.uint8)).save(dup / "a.png")
    with pytest.raises(StudyError, match="must have one file"):
        read_label_maps(dup)
    bad = tmp_path / "bad"
    bad.mkdir()
    np.save(bad / "a.npy", np.ones((2, 2, 2), int))
    with pytest.raises(AnnotationError, match="must be 2-D"):
        read_label_maps(bad)
    neg = tmp_path / "neg"
    neg.mkdir()
    np.save(neg / "a.npy", -np.ones((2, 2), int))
    with pytest.raises(AnnotationError, match=r"file '.*a\.npy', image 'a': labels must be >= 0"):
        read_label_maps(neg).load("a")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.png").write_bytes(b"not a png")
    with pytest.raises(FormatError, match=r"label-map PNG must be a readable image \(PNG\)"):
        read_label_maps(broken)
    with pytest.raises(StudyError, match="has no image 'zzz'"):
        read_label_maps(neg).load("zzz")


def test_load_study_of_label_map_folders(tmp_path):
    for name, labels in {"a": [[1, 1], [2, 2]], "b": [[4, 4], [4, 0]]}.items():
        (tmp_path / name).mkdir()
        np.save(tmp_path / name / "img.npy", np.array(labels))
    study = load_study(tmp_path)
    assert study.annotators == ("a", "b")
    assert study.annotation("b", "img").segment_ids.tolist() == [4]


def test_bsds_folder_persons_and_cache(tmp_path):
    write_mat(tmp_path / "1.mat", [[[1, 1, 2]], [[1, 2, 3]], [[1, 1, 1]]])
    write_mat(tmp_path / "2.mat", [[[1], [2]], [[1], [1]]])
    folder = BsdsFolder(tmp_path)
    assert folder.persons == {"1": 3, "2": 2}
    assert folder.infos["2"].height == 2
    sources = folder.sources()
    assert list(sources) == ["person_1", "person_2", "person_3"]
    assert [i.file_name for i in sources["person_3"].images] == ["1"]
    assert sources["person_2"].load("1").ids.tolist() == [[1, 2, 3]]
    assert sources["person_2"].segment_count("1") == 3
    study = load_bsds_study(tmp_path)
    assert study.annotators_of("2") == ("person_1", "person_2")
    assert study.categories[1].name == "region"
    assert load_study(tmp_path).annotators_of("1") == ("person_1", "person_2", "person_3")
    with pytest.raises(StudyError, match="not a person 3"):
        sources["person_3"].load("2")


def test_bsds_errors(tmp_path):
    with pytest.raises(StudyError, match=r"must hold \.mat files"):
        read_bsds(tmp_path)
    scipy.io.savemat(tmp_path / "a.mat", {"other": np.ones(3)})
    with pytest.raises(FormatError, match=r"a\.mat'.*'groundTruth' cell array"):
        read_bsds(tmp_path)
    (tmp_path / "a.mat").write_bytes(b"garbage")
    with pytest.raises(FormatError, match=r"MATLAB \.mat file"):
        read_bsds(tmp_path)
    (tmp_path / "a.mat").unlink()
    write_mat(tmp_path / "b.mat", [[[1, 1]], [[1], [1]]])
    with pytest.raises(AnnotationError, match=r"groundTruth\{2\}.Segmentation must be \(1, 2\)"):
        read_bsds(tmp_path)
    (tmp_path / "b.mat").unlink()
    gt = np.empty((1, 1), dtype=object)
    gt[0, 0] = {"Other": np.ones((2, 2))}
    scipy.io.savemat(tmp_path / "c.mat", {"groundTruth": gt})
    with pytest.raises(FormatError, match="must have a 'Segmentation' field"):
        read_bsds(tmp_path)


def test_bsds_and_label_maps_through_the_loader(tmp_path):
    from agreement.io import expand_sources, load_source

    bsds = tmp_path / "bsds"
    bsds.mkdir()
    write_mat(bsds / "1.mat", [[[1, 1, 2]], [[1, 2, 3]]])
    assert sorted(expand_sources(bsds)) == ["person_1", "person_2"]
    study = load_study({"set": bsds})
    assert study.annotators == ("person_1", "person_2")
    with pytest.raises(StudyError, match="must hold one annotator"):
        load_source(bsds)
    maps = tmp_path / "maps"
    maps.mkdir()
    np.save(maps / "1.npy", np.array([[1, 1, 2]]))
    assert load_source(maps).load("1").segment_ids.tolist() == [1, 2]
    assert load_source(maps, format="label_maps").images[0].file_name == "1"
