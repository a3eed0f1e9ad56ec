"""Build the optional compiled kernels; everything else is in pyproject.toml.

``optional=True``: without a working C compiler the install still succeeds and agreement uses its
numpy fallbacks (same results, slower); ``agreement._native.kernels`` tells which is in use.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("agreement._kernels", ["agreement/_kernels.c"], optional=True)])
