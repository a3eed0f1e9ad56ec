"""Batches and their comparison: did agreement change between two annotation batches?

- :class:`Batch` (:mod:`.batch`): a study reduced to the per-image additive tables a
  comparison resamples;
- :func:`compare_batches` (:mod:`.comparison`): differences per class, annotator and confused
  class pair, with bootstrap intervals and corrected permutation tests;
- :mod:`.plots`: their figures.
"""

from .batch import Batch
from .comparison import CLASS_METRICS, BatchComparison, compare_batches

__all__ = ["CLASS_METRICS", "Batch", "BatchComparison", "compare_batches"]
