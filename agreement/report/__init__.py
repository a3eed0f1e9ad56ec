"""The guideline-revision report: build it from a study's results, render it, write it.

>>> from agreement.report import build_report, write_report  # doctest: +SKIP
>>> html_path = write_report(build_report(study), "report/")  # doctest: +SKIP
"""

from .diagnose import Diagnosis, Thresholds, diagnose_classes
from .model import Figure, Group, Input, Paragraph, Report, Section, Table
from .proposals import Proposal, propose
from .render import render_html, render_markdown
from .write import write_report

__all__ = [
    "Diagnosis",
    "Figure",
    "Group",
    "Input",
    "Paragraph",
    "Proposal",
    "Report",
    "Section",
    "Table",
    "Thresholds",
    "build_report",
    "diagnose_classes",
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
