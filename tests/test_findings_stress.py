"""Findings beyond the street at 256 x 512: other scenes, sizes, noise levels and models.

The reviewers' studies are not made by our generator; these seeded, small studies check that
what the findings say does not rest on one kind of study: null studies of another shape give
no finding, and strong plants at another size or in another scene are named.
"""

from __future__ import annotations

import numpy as np
import pytest

from agreement.diagnosis import Options, find
from agreement.diagnosis._finish import PX_FLOOR, study_level
from agreement.simulation import Plant, named, simulate
from agreement.simulation._rooms import CATEGORIES as ROOM_CATEGORIES


def test_px_minimums_scale_with_the_image_but_never_go_below_a_pixel():
    th_small = Options().thresholds((64, 128))
    th_large = Options().thresholds((1024, 2048))
    assert th_small["boundary_offset"] == PX_FLOOR["boundary_offset"] == 1.0
    assert th_small["boundary_detail"] == PX_FLOOR["boundary_detail"]
    assert th_large["boundary_offset"] == pytest.approx(0.002 * np.hypot(1024, 2048))
    assert th_large["extent"] == th_small["extent"] == 0.05  # shares do not scale


def test_the_study_level_is_the_median_annotator_and_does_not_depend_on_who_is_who():
    values = np.array([[[0.1], [0.2], [0.9]], [[0.3], [0.2], [0.7]]])  # images x annotators
    assert study_level(values)[0] == pytest.approx(0.2)
    assert study_level(values[:, ::-1])[0] == pytest.approx(0.2)


def test_rooms_are_another_scene_with_their_own_classes():
    sim = simulate(seed=1, annotators=3, images=2, height=128, width=256, scene="rooms")
    names = {sim.categories[c].name for c in sim.categories}
    assert names == {c["name"] for c in ROOM_CATEGORIES}
    ann = sim.annotations["ana"][0]
    assert ann.image.file_name == "room_001.png"
    cats = {s.category_id for s in ann.segments}
    assert {186, 199, 190} <= cats  # ceiling, wall, floor
    small = [s for s in ann.segments if s.category_id in (47, 44, 84)]  # cups, bottles, books
    assert len(small) >= 3 and all(s.area < 600 for s in small)
    assert sim.planted["scene"] == "rooms"


def test_noise_level_and_model_change_the_tracing_not_the_draws():
    base = simulate(seed=2, annotators=2, images=1, height=64, width=128)
    sloppy = simulate(seed=2, annotators=2, images=1, height=64, width=128, noise=2.0)
    hand = simulate(seed=2, annotators=2, images=1, height=64, width=128, noise_model="wobble")
    b, s = base.planted["annotators"]["ana"], sloppy.planted["annotators"]["ana"]
    assert s["tolerance"] == pytest.approx(2 * b["tolerance"], abs=2e-3)
    assert s["miss_rate"] == b["miss_rate"]
    assert hand.planted["annotators"]["ana"]["wobble"] > 0 == b["wobble"]
    with pytest.raises(ValueError, match="noise model"):
        simulate(seed=2, annotators=2, images=1, height=64, width=128, noise_model="pencil")
    with pytest.raises(ValueError, match="scene"):
        simulate(seed=2, annotators=2, images=1, height=64, width=128, scene="forest")


@pytest.mark.parametrize("kwargs", [
    {"scene": "rooms", "annotators": 3, "images": 10, "height": 128, "width": 256},
    pytest.param({"scene": "street", "annotators": 5, "images": 8, "height": 128, "width": 256,
                  "noise": 2.0, "noise_model": "wobble"},
                 marks=pytest.mark.xfail(strict=True, reason=(
                     "known failure (docs/findings.md): a hand-drawn, twice as noisy tree "
                     "crown reads as a vegetation / sky border placed anywhere (guideline "
                     "spread 1.7 px against a 0.5 px minimum at 128 x 256)"))),
])
def test_null_studies_of_another_shape_give_no_finding(kwargs):
    found = find(simulate(seed=211, **kwargs).study())
    assert len(found) == 0, found.summary()
    assert found.summary().startswith("No finding")


@pytest.mark.parametrize("kind", ["class_confusion", "boundary_offset", "missed_small"])
def test_strong_plants_in_rooms_are_named(kind):
    sim = simulate(seed=212, scene="rooms", annotators=4, images=10, height=128, width=256,
                   plants=[Plant(kind, "strong", "ben")])
    found = find(sim.study())
    assert found.findings and named(sim.plants[0], found[0]), found.summary()


def test_a_strong_plant_at_another_size_is_named():
    sim = simulate(seed=213, annotators=3, images=8, height=384, width=512,
                   plants=[Plant("boundary_offset", "strong", "cy", ("building", "sky"))])
    found = find(sim.study())
    assert found.findings and named(sim.plants[0], found[0]), found.summary()
    assert found[0].effect == pytest.approx(6.0 * 384 / 256, rel=0.35)  # px at this size


def test_two_annotators_in_rooms_are_compared_without_blame():
    sim = simulate(seed=214, scene="rooms", annotators=2, images=20, height=128, width=256,
                   plants=[Plant("class_confusion", "strong", "ben", ("cup", "bottle"))])
    found = find(sim.study())
    assert len(found) >= 1, found.summary()
    f = found[0]
    assert f.kind == "class_confusion" and f.annotators == ()
    assert set(f.evidence["between"]) == {"ana", "ben"} and set(f.categories) == {"cup", "bottle"}
