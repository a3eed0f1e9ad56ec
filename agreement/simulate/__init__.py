"""Simulated annotator studies with planted problems (see :func:`simulate`)."""
