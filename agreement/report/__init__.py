"""The guideline-revision report: build it from a study's results, render it, write it.

The report's proposals, its annotator section, its summary (the CLI's ``--json``) and
``findings.json`` all read one :class:`agreement.diagnosis.Findings`, computed in the report's
one pass over the images.

>>> from agreement.report import build_report, write_report  # doctest: +SKIP
>>> html_path = write_report(build_report(study), "report/")  # doctest: +SKIP
"""

from .model import Figure, Group, Input, Paragraph, Report, Section, Table
from .render import render_html, render_markdown
from .rules import Proposal, proposals_frame, propose
from .write import write_report

__all__ = [
    "Figure",
    "Group",
    "Input",
    "Paragraph",
    "Proposal",
    "Report",
    "Section",
    "Table",
    "build_report",
    "proposals_frame",
    "propose",
    "render_html",
    "render_markdown",
    "write_report",
]


def __getattr__(name: str) -> object:
    """``build_report`` loads the whole metric stack: import it on first use only."""
    if name == "build_report":
        from .build import build_report

        return build_report
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
