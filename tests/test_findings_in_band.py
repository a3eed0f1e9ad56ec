"""The findings kernel's per-tuple count of band pixels: compiled (runs of equal (tuple, bits)
pairs counted once) and with numpy, a band of rows at a time."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from agreement import _native
from agreement.diagnosis import _kernel


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(1, 7), st.integers(1, 50),
       st.integers(1, 200), st.integers(0, 2**32 - 1), st.sampled_from([np.uint16, np.int32]),
       st.booleans())
def test_in_band_counts_every_bit_of_every_tuple(h, w, n, n_t, band, seed, dtype, compiled):
    rng = np.random.default_rng(seed)
    index = rng.integers(0, n_t, (h, w)).astype(dtype)
    bits = rng.integers(0, 1 << n, (h, w)).astype(np.uint8)
    if seed % 2:  # runs, as real maps have
        index = np.sort(index, axis=1)
        bits = np.sort(bits, axis=1)
    want = np.stack([np.bincount(index[(bits >> k) & 1 == 1], minlength=n_t)
                     for k in range(n)])
    old, kernels = _kernel._BAND_PIXELS, _native.kernels
    try:
        _kernel._BAND_PIXELS = band  # several bands, rows cut anywhere
        _native.kernels = kernels if compiled else None
        got = _kernel._in_band(index, bits, n, n_t)
    finally:
        _kernel._BAND_PIXELS, _native.kernels = old, kernels
    assert got.dtype == np.int64 and np.array_equal(got, want)
