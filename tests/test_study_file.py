"""Study files (TOML / JSON) naming each annotator's export, and their hook in load_study."""

from __future__ import annotations

import json

import numpy as np
import pytest

from agreement import Categories, Category, PanopticAnnotation, load_study, write_coco_panoptic
from agreement.errors import FormatError, PathEscapeError, StudyError
from agreement.io import open_study
from agreement.io.study_file import is_study_file, read_study_file

CATS = Categories([Category(1, "car", True), Category(7, "road", False)])


def _export(path, images=("a.png", "b.png"), cats=CATS):
    anns = []
    for i, name in enumerate(images, 1):
        ids = np.zeros((4, 5), dtype=np.int32)
        ids[:2] = 3
        ids[2:, :2] = 9
        anns.append(PanopticAnnotation.from_map(ids, {3: 7, 9: 1}, file_name=name, image_id=i))
    return write_coco_panoptic(anns, cats, path)


@pytest.fixture
def tree(tmp_path):
    _export(tmp_path / "exports" / "alice.json")
    _export(tmp_path / "exports" / "bob" / "panoptic.json", images=("a.png", "b.png", "c.png"))
    (tmp_path / "images").mkdir()
    (tmp_path / "cats.json").write_text(json.dumps({"categories": CATS.to_coco()}))
    return tmp_path


def test_toml_study_file(tree):
    (tree / "study.toml").write_text(
        'name = "batch one"\nimages_dir = "images"\nimages = ["a.png", "c.png"]\n'
        'categories = "cats.json"\n[annotators.alice]\npath = "exports/alice.json"\n'
        'format = "coco_panoptic"\n[annotators.bob]\npath = "exports/bob/panoptic.json"\n'
    )
    spec = read_study_file(tree / "study.toml")
    assert spec.name == "batch one" and spec.images == ("a.png", "c.png")
    assert spec.images_dir == (tree / "images").resolve() and spec.categories == CATS
    study = spec.load()
    assert study.annotators == ("alice", "bob")
    assert study.images == ("a.png", "c.png")
    assert study.annotators_of("c.png") == ("bob",)
    assert study.annotation("alice", "a.png").segment(3).category_id == 7
    # load_study accepts the file, and a folder holding study.toml
    assert load_study(tree / "study.toml").images == ("a.png", "c.png")
    assert load_study(tree).annotators == ("alice", "bob")
    opened = open_study(tree)
    assert opened.name == "batch one" and opened.files == (tree / "study.toml",)


def test_json_study_file_list_form(tree):
    doc = {
        "annotators": [
            {"name": "x", "path": "exports/alice.json"},
            {"name": "y", "path": "exports/bob"},
        ]
    }
    (tree / "s.json").write_text(json.dumps(doc))
    assert is_study_file(tree / "s.json")
    assert not is_study_file(tree / "exports" / "alice.json")
    study = load_study(tree / "s.json")
    assert study.annotators == ("x", "y") and study.images == ("a.png", "b.png", "c.png")


def test_folder_without_study_file_finds_images_beside(tree):
    (tree / "batch").mkdir()
    _export(tree / "batch" / "p.json")
    _export(tree / "batch" / "q.json")
    opened = open_study(tree / "batch")
    assert opened.study.annotators == ("p", "q") and opened.images_dir == tree / "images"
    assert opened.name == "batch"


@pytest.mark.parametrize("path", ["../elsewhere.json", "/etc/passwd", "exports/../../x.json"])
def test_paths_must_stay_inside(tree, path):
    (tree / "study.json").write_text(json.dumps({"annotators": {"a": {"path": path}}}))
    with pytest.raises(PathEscapeError, match="must stay inside the dataset folder"):
        read_study_file(tree / "study.json")


def test_images_dir_must_stay_inside(tree):
    (tree / "s.toml").write_text('images_dir = ".."\n[annotators]\na = "exports/alice.json"\n')
    with pytest.raises(PathEscapeError, match="must stay inside"):
        read_study_file(tree / "s.toml")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("annotators = 3\n", "'annotators' must be a table"),
        ("colour = 1\n[annotators]\na = 'exports/alice.json'\n", "keys must be among"),
        ("name = 'x'\n", "must name at least one export"),
        (
            "[annotators.a]\nfile = 'exports/alice.json'\n",
            "must be a path or a table with a 'path'",
        ),
        (
            "[annotators.a]\npath = 'exports/alice.json'\nformat = 3\n",
            "'annotators.a.format' must be",
        ),
        ("images = 'a.png'\n[annotators]\na = 'exports/alice.json'\n", "'images' must be a list"),
        ("[annotators\n", "file must be valid TOML"),
    ],
)
def test_malformed_study_files(tree, text, match):
    (tree / "s.toml").write_text(text)
    with pytest.raises(FormatError, match=match):
        read_study_file(tree / "s.toml")


def test_unknown_images_and_conflicting_categories(tree):
    (tree / "s.toml").write_text('images = ["zzz.png"]\n[annotators]\na = "exports/alice.json"\n')
    with pytest.raises(StudyError, match=r"annotated by at least one annotator, got \['zzz.png'\]"):
        read_study_file(tree / "s.toml").load()
    other = Categories([Category(1, "truck", True), Category(7, "road", False)])
    (tree / "c2.json").write_text(json.dumps(other.to_coco()))
    (tree / "s.toml").write_text('categories = "c2.json"\n[annotators]\na = "exports/alice.json"\n')
    with pytest.raises(StudyError, match="category 1 must match the study's category set"):
        read_study_file(tree / "s.toml").load()


def test_duplicate_annotator_names(tree):
    (tree / "s.json").write_text(
        json.dumps(
            {
                "annotators": [
                    {"name": "a", "path": "exports/alice.json"},
                    {"name": "a", "path": "exports/bob"},
                ]
            }
        )
    )
    with pytest.raises(StudyError, match="annotator names must be unique, got 'a' twice"):
        read_study_file(tree / "s.json").load()
