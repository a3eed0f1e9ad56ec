"""Simulated annotation studies with planted problems: what can the findings detect?

:func:`simulate` draws street scenes (the scenes of the sample study), lets 2-8 annotators
trace them with ordinary noise, and plants problems for chosen annotators: each kind of
:data:`KINDS` at two strengths (:data:`STRENGTHS`). The result is held in memory
(:meth:`SimulatedStudy.study`) or written as COCO panoptic with a ``planted.json``
(:meth:`SimulatedStudy.write`); ``python -m agreement.simulation --help`` does the same from the
command line. See docs/findings.md for the kinds and the benchmark that uses them.

>>> from agreement.simulation import Plant, simulate
>>> sim = simulate(seed=3, annotators=3, images=2, height=64, width=128,
...                plants=["boundary_offset:strong"])
>>> p = sim.plants[0]
>>> p.kind, p.strength, p.annotator in sim.annotations
('boundary_offset', 'strong', True)
"""

from ._draw import Tracing
from ._plants import CANDIDATES, EVERYONE, KINDS, PARAMETERS, STRENGTHS, Plant
from ._score import named, score
from ._study import SimulatedStudy, simulate

__all__ = ["CANDIDATES", "EVERYONE", "KINDS", "PARAMETERS", "STRENGTHS", "Plant",
           "SimulatedStudy", "Tracing", "named", "score", "simulate"]
