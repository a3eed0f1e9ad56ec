"""Resampling statistics over images for ratio metrics of additive count tables.

Every agreement metric of ``agreement`` is a ratio of counts summed over images (PQ of a class is
``iou_sum / (tp + fp/2 + fn/2)``). Uncertainty therefore comes from *which images* were annotated:
this module resamples images, re-sums their counts and recomputes the metric with the very same
metric function, vectorised over the resamples (a ``(B, n_images)`` matrix of resampling weights
times the ``(n_images, n_groups * n_fields)`` count matrix; no Python loop over resamples).

- :class:`CountTable`: per-image additive counts, ``values[image, group, field]``.
- :func:`bootstrap`: percentile or BCa confidence intervals of a statistic.
- :func:`bootstrap_difference`: interval of ``statistic(b) - statistic(a)``, paired (shared images,
  one resample applied to both batches) or unpaired (independent resamples of each batch).
- :func:`permutation_test`: two-sided p-values for "no difference between the batches" (paired:
  swap each image's counts between the batches; unpaired: reshuffle images between the batches),
  exact when the number of rearrangements is small.
- :func:`adjust_pvalues`: Holm (default) or Benjamini-Hochberg across classes.

A statistic is a function ``statistic(sums) -> array`` where ``sums`` maps each field name to an
array of summed counts of shape ``(..., n_groups)``; it returns an array of shape ``(..., k)``
(usually ``k = n_groups``). It must be elementwise over the leading axes (plain numpy arithmetic
is), undefined values are NaN (see :func:`ratio`, :mod:`agreement.metrics.counts`).
"""

from ..metrics.counts import ratio
from ._bootstrap import BootstrapResult, bootstrap, bootstrap_difference
from ._permutation import adjust_pvalues, permutation_test
from ._table import CountTable, Statistic, resample_weights

#: Fewer images than this: intervals and tests that resample images are rough (over 2 images an
#: interval of width 0 says nothing); `compare` and the report say so.
FEW_IMAGES = 10

__all__ = [
    "FEW_IMAGES",
    "BootstrapResult",
    "CountTable",
    "Statistic",
    "adjust_pvalues",
    "bootstrap",
    "bootstrap_difference",
    "permutation_test",
    "ratio",
    "resample_weights",
]
