"""Metric families, one module each (pq, boundary, pixel, region, covering); every metric is a
small function of a counts table."""
