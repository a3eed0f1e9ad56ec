"""Metric families, one module each; every metric is a small function of a counts table."""
