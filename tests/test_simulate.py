"""The planted-problem study generator (agreement.simulation)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from agreement import load_study
from agreement.simulation import EVERYONE, KINDS, PARAMETERS, Plant, named, score, simulate
from agreement.simulation import _plants as P

SMALL = {"annotators": 3, "images": 2, "height": 64, "width": 128}


def _maps(sim, annotator):
    return [a.ids for a in sim.annotations[annotator]]


def test_same_seed_same_study_other_seed_other_study():
    a, b = simulate(seed=4, **SMALL), simulate(seed=4, **SMALL)
    c = simulate(seed=5, **SMALL)
    assert a.planted == b.planted
    for name in a.annotations:
        assert all(np.array_equal(x, y) for x, y in zip(_maps(a, name), _maps(b, name),
                                                         strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(_maps(a, "ana"), _maps(c, "ana"),
                                                         strict=True))


def test_null_study_has_no_plant_and_every_annotator_labels_every_image():
    sim = simulate(seed=1, annotators=4, images=3, height=64, width=128)
    assert sim.plants == () and sim.planted["plants"] == []
    study = sim.study()
    assert study.annotators == ("ana", "ben", "cy", "dora")
    assert len(study.images) == 3 and study.missing().empty
    assert set(sim.planted["annotators"]) == set(study.annotators)


@pytest.mark.parametrize("kind", [k for k in KINDS if k not in EVERYONE])
def test_a_strong_plant_changes_its_annotator_only(kind):
    null = simulate(seed=2, **SMALL)
    sim = simulate(seed=2, plants=[Plant(kind, "strong", "ben")], **SMALL)
    (plant,) = sim.plants
    assert plant.annotator == "ben" and plant.parameters  # resolved
    for name in ("ana", "cy"):  # each annotator draws from their own random stream
        assert all(np.array_equal(x, y) for x, y in zip(_maps(null, name), _maps(sim, name),
                                                         strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(_maps(null, "ben"), _maps(sim, "ben"),
                                                         strict=True))
    assert sum(sim.planted["plants"][0]["changed_per_image"]) > 0


def test_an_ambiguous_border_is_placed_somewhere_else_by_everyone_on_every_image():
    size = {**SMALL, "height": 128, "width": 256, "images": 3}  # up to 3 px either way
    null = simulate(seed=2, **size)
    sim = simulate(seed=2, plants=[Plant("ambiguous_border", "strong",
                                         categories=("road", "sidewalk"))], **size)
    (plant,) = sim.plants
    assert plant.annotator is None and plant.parameters == {"px": 6.0}
    road = 7  # category id of road in the simulated scenes

    def road_pixels(ann) -> int:
        return int(np.isin(ann.ids, [s.id for s in ann.segments if s.category_id == road]).sum())

    # each annotator's road grows or shrinks by a different amount on each image
    shifts = {name: [road_pixels(y) - road_pixels(x)
                     for x, y in zip(null.annotations[name], sim.annotations[name], strict=True)]
              for name in ("ana", "ben", "cy")}
    assert all(any(v != 0 for v in s) for s in shifts.values())
    assert len({tuple(v) for v in shifts.values()}) == 3  # everyone somewhere else
    assert sum(sim.planted["plants"][0]["changed_per_image"]) > 0
    with pytest.raises(ValueError, match="is for every annotator"):
        simulate(seed=2, plants=[Plant("ambiguous_border", "strong", "ben")], **SMALL)


def test_plants_resolve_categories_from_the_candidates_and_parameters_from_the_strength():
    sim = simulate(seed=3, plants=["boundary_offset:subtle", ("merge", "strong")], **SMALL)
    offset, merge = sim.plants
    assert offset.categories in P.CANDIDATES["boundary_offset"]
    assert offset.parameters == PARAMETERS["boundary_offset"]["subtle"]
    assert merge.categories in P.CANDIDATES["merge"]
    doc = sim.planted["plants"][0]
    assert doc["kind"] == "boundary_offset" and doc["strength"] == "subtle"


@pytest.mark.parametrize("plant, message", [
    (Plant("merge", annotator="zed"), "annotator must be one of"),
])
def test_bad_plants_are_refused(plant, message):
    with pytest.raises(ValueError, match=message):
        simulate(seed=0, plants=[plant], **SMALL)


@pytest.mark.parametrize("kwargs, message", [
    ({"kind": "typo"}, "plant kind must be one of"),
    ({"kind": "merge", "strength": "huge"}, "plant strength must be one of"),
])
def test_bad_plant_records_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Plant(**kwargs)


def test_one_plant_of_a_kind_per_annotator():
    with pytest.raises(ValueError, match="one plant of each kind"):
        simulate(seed=0, plants=[Plant("merge", annotator="ana"), Plant("merge", annotator="ana")],
                 **SMALL)


def test_written_study_reads_back_identically(tmp_path):
    sim = simulate(seed=6, plants=["split:strong"], **SMALL)
    folder = sim.write(tmp_path / "sim")
    assert folder == tmp_path / "sim" / "study"
    study = load_study(folder)
    assert study.annotators == ("ana", "ben", "cy")
    for name, anns in sim.annotations.items():
        for ann in anns:
            back = study.annotation(name, ann.image.file_name)
            assert np.array_equal(back.ids, ann.ids)
            assert [s.category_id for s in back.segments] == [s.category_id for s in ann.segments]
    planted = json.loads((tmp_path / "sim" / "planted.json").read_text())
    assert planted["plants"][0]["kind"] == "split"
    assert planted["image_size"] == {"height": 64, "width": 128}


# ----------------------------------------------------------------------------- map plants

def test_offset_moves_the_border_by_exactly_k_pixels():
    ids = np.full((4, 12), 8, np.int32)
    ids[:, :5] = 7  # road | sidewalk at column 5
    out, n = P.offset(ids, 7, 8, 3.0)
    assert (out == 7).sum(axis=1).tolist() == [8] * 4
    assert n == 12


def test_split_cuts_a_segment_in_two_and_merge_joins_neighbours():
    ids = np.zeros((6, 20), np.int32)
    ids[1:5, 2:18] = 26001
    out, cats, n = P.split(ids, {26001: 26}, 26, 1.0, 10, np.random.default_rng(0))
    assert n == 1 and len(cats) == 2 and set(np.unique(out)) == {0, 26001, 26002}
    back, cats2, m = P.merge(out, cats, 26, 1.0, np.random.default_rng(0))
    assert m == 1 and len(cats2) == 1 and set(np.unique(back)) == {0, 26001}


def test_unlabel_leaves_void_only_along_stuff_borders():
    ids = np.full((64, 64), 7, np.int32)
    ids[:, 32:] = 8
    out, n = P.unlabel(ids, {7, 8}, 1.0, 1.0, np.random.default_rng(0))
    void = out == 0
    assert n == void.sum() > 0
    assert np.flatnonzero(void.any(axis=0)).tolist() == [30, 31, 32, 33]


def test_named_needs_kind_annotator_classes_and_direction():
    class F:
        def __init__(self, kind, cats, who, effect=1.0):
            self.kind, self.categories, self.annotators, self.effect = kind, cats, who, effect

    plant = Plant("boundary_offset", "strong", "ben", ("road", "sidewalk"), {"px": 6})
    assert named(plant, F("boundary_offset", ("road", "sidewalk"), ("ben",), 6.0))
    assert not named(plant, F("boundary_offset", ("road", "sidewalk"), ("ben",), -6.0))
    assert not named(plant, F("boundary_offset", ("road", "sidewalk"), ("ana",), 6.0))
    assert not named(plant, F("extent", ("road",), ("ben",), 6.0))
    detail = Plant("boundary_detail", "strong", "ben", (), {})
    assert named(detail, F("boundary_detail", ("car", "person"), ("ben",)))
    s = score([plant], [F("extent", ("road",), ("ben",)),
                        F("boundary_offset", ("sidewalk", "road"), ("ben",), -6.0)])
    assert s == {"named": [True], "first": [False], "false": 1}
