"""Agreement metrics: one family per module (pq, boundary, pixel, ...)."""
