"""The report's leave-one-out keeps sums, not per-image rows (:class:`agreement.study.loo.LooSums`):
its tables equal those summed from the per-image rows (pandas' grouped sums), bit for bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agreement.study._rows import Columns, Rows
from agreement.study.loo import COUNT_DTYPES, LooPart, LooSums, leave_one_out, loo_tables
from agreement.study.runner import run


def _assert_same(got, want) -> None:
    pd.testing.assert_frame_equal(got.per_annotator, want.per_annotator, check_exact=True)
    pd.testing.assert_frame_equal(got.per_class, want.per_class, check_exact=True)


@pytest.mark.parametrize(("seed", "annotators", "images"), [(0, 3, 6), (3, 4, 5), (7, 2, 4)])
def test_the_sums_give_the_tables_of_the_per_image_rows(seed, annotators, images):
    from agreement.simulation import Plant, simulate

    study = simulate(seed=seed, annotators=annotators, images=images, height=64, width=128,
                     plants=[Plant("class_confusion", "strong",
                                   categories=("car", "truck"))]).study()
    want = leave_one_out(study)
    got, = run(study, [LooPart(per_image=False)])
    _assert_same(got, want)
    assert len(want.counts) > 0 and len(got.counts) == 0
    assert list(got.counts.columns) == list(COUNT_DTYPES)
    assert repr(got) == repr(want)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31), n_images=st.integers(0, 12), chunks=st.integers(1, 4))
def test_compensated_sums_in_the_rows_order_equal_pandas(seed, n_images, chunks):
    """Random rows whose ``iou_sum`` spans many magnitudes (and an inf), folded in chunks:
    pandas sums them with compensation, and so must the fold (any other order or rounding
    shows in the last bits)."""
    from agreement.categories import Categories, Category

    rng = np.random.default_rng(seed)
    annotators = ("a", "b", "c")
    categories = Categories([Category(1, "road", False), Category(2, "car", True),
                             Category(5, "person", True)])
    blocks = []
    for i in range(n_images):
        for a in annotators:
            if rng.random() < 0.2:
                continue
            cats = np.sort(rng.choice([1, 2, 5], int(rng.integers(1, 4)), replace=False))
            k = cats.size
            iou = rng.random(k) * 10.0 ** rng.integers(-9, 9, k)
            if rng.random() < 0.03:
                iou[0] = np.inf
            blocks.append(Rows.of(k, image=f"im{i}", annotator=a, others=2, category_id=cats,
                                  tp=rng.integers(0, 5, k), fp=rng.integers(0, 3, k),
                                  fn=rng.integers(0, 3, k), iou_sum=iou))
    rows = Columns(COUNT_DTYPES)
    sums = LooSums()
    for part in np.array_split(np.arange(len(blocks)), chunks):
        chunk = Rows.concat([blocks[j] for j in part])
        rows.extend(chunk)
        sums.extend(chunk)

    class _Study:  # what the tables read of a study
        pass

    study = _Study()
    study.annotators = annotators
    study.categories = categories
    study.images = tuple(f"im{i}" for i in range(n_images))
    want = loo_tables(rows.frame({"image": study.images, "annotator": annotators}), study)
    _assert_same(sums.tables(study), want)
