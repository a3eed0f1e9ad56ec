"""Render a :class:`~agreement.report.model.Report` as one self-contained HTML file and Markdown.

HTML: figures are embedded as ``data:image/png;base64`` URIs, the style sheet is inlined, nothing
refers to the network; the templates are files under ``agreement/report/templates/`` filled with
:class:`string.Template`. Markdown refers to the figures as files under ``figures/``.
"""

from __future__ import annotations

import base64
import html
import math
from functools import cache
from importlib import resources
from string import Template
from typing import Any

import numpy as np
import pandas as pd

from .model import Figure, Group, Paragraph, Report, Section, Table

__all__ = ["format_value", "render_html", "render_markdown"]


@cache
def _template(name: str) -> str:
    return resources.files("agreement.report").joinpath("templates", name).read_text("utf-8")


def format_value(value: Any, digits: int = 3) -> str:
    """Format one table cell: floats rounded, NaN / None / NA as an en dash.

    Examples
    --------
    >>> format_value(0.123456), format_value(float("nan")), format_value(12)
    ('0.123', '–', '12')
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return "–"
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return "–"
        return f"{value:.{digits}f}"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    return str(value)


def _shown(table: Table) -> pd.DataFrame:
    frame = table.frame if table.columns is None else table.frame[list(table.columns)]
    if table.max_rows is not None and len(frame) > table.max_rows:
        frame = frame.head(table.max_rows)
    return frame


def _html_table(table: Table) -> str:
    if not table.show:
        return ""
    frame = _shown(table)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for row in frame.itertuples(index=False):
        cells = []
        for v in row:
            cls = ' class="text"' if isinstance(v, str) else ""
            cells.append(f"<td{cls}>{html.escape(format_value(v, table.digits))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if len(frame) < len(table.frame):
        more = f" Showing {len(frame)} of {len(table.frame)} rows; all in {table.name}.csv."
    note = html.escape(table.caption + more).strip()
    return (
        f'<table id="table-{html.escape(table.name)}"><caption>{html.escape(table.title)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        + (f'<p class="table-note">{note}</p>' if note else "")
    )


def _html_figure(fig: Figure) -> str:
    data = base64.b64encode(fig.png).decode("ascii")
    cap = html.escape(fig.title + (": " + fig.caption if fig.caption else ""))
    return (
        f'<figure id="figure-{html.escape(fig.name)}"><img src="data:image/png;base64,{data}" '
        f'alt="{html.escape(fig.title)}"><figcaption>{cap}</figcaption></figure>'
    )


def _html_block(block: Any) -> str:
    if isinstance(block, Paragraph):
        return f'<p class="{html.escape(block.kind)}">{html.escape(block.text)}</p>'
    if isinstance(block, Table):
        return _html_table(block)
    if isinstance(block, Figure):
        return _html_figure(block)
    if isinstance(block, Group):
        inner = "\n".join(_html_block(b) for b in block.blocks)
        title = html.escape(block.title)
        return f'<div class="{html.escape(block.kind)}"><h3>{title}</h3>\n{inner}</div>'
    items = "".join(f"<li>{html.escape(str(i))}</li>" for i in block)
    return f"<ul>{items}</ul>"


def _html_section(section: Section) -> str:
    return Template(_template("section.html")).substitute(
        key=html.escape(section.key),
        title=html.escape(section.title),
        blocks="\n".join(_html_block(b) for b in section.blocks),
    )


def _footer_lines(report: Report) -> tuple[list[str], list[tuple[str, str, str, int]], list[str]]:
    head = [f"agreement {report.version}"] + (
        [f"created {report.created}"] if report.created else []
    )
    inputs = [(i.role, i.path, i.sha256, i.files) for i in report.inputs]
    params = [f"{k} = {v}" for k, v in sorted(report.parameters.items())]
    return head, inputs, params


def render_html(report: Report) -> str:
    """The report as one self-contained HTML document (str)."""
    head, inputs, params = _footer_lines(report)
    rows = "".join(
        f'<tr><td>{html.escape(r)}</td><td class="text"><code>{html.escape(p)}</code></td>'
        f'<td>{n}</td><td class="text"><code>{h}</code></td></tr>'
        for r, p, h, n in inputs
    )
    footer = (
        "<h2>Reproducibility</h2>"
        f"<p>{html.escape('; '.join(head))}</p>"
        '<table id="table-inputs"><caption>Inputs (SHA-256 over the file, or over every file of '
        "a folder in sorted order)</caption><thead><tr><th>role</th><th>path</th><th>files</th>"
        f"<th>sha256</th></tr></thead><tbody>{rows}</tbody></table>"
        "<p>Parameters:</p><ul>"
        + "".join(f"<li><code>{html.escape(p)}</code></li>" for p in params)
        + "</ul>"
    )
    toc = "\n".join(
        f'<li><a href="#{html.escape(s.key)}">{html.escape(s.title)}</a></li>'
        for s in report.sections
    )
    return Template(_template("report.html")).substitute(
        title=html.escape(report.title),
        version=html.escape(report.version),
        subtitle=html.escape(str(report.summary.get("subtitle", ""))),
        style=_template("style.css"),
        toc=toc,
        body="\n".join(_html_section(s) for s in report.sections),
        footer=footer,
    )


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(table: Table) -> str:
    if not table.show:
        return ""
    frame = _shown(table)
    cols = [str(c) for c in frame.columns]
    lines = [
        f"**{table.title}**",
        "",
        "| " + " | ".join(map(_md_escape, cols)) + " |",
        "|" + "|".join("---" for _ in cols) + "|",
    ]
    for row in frame.itertuples(index=False):
        lines.append(
            "| " + " | ".join(_md_escape(format_value(v, table.digits)) for v in row) + " |"
        )
    more = (
        f" Showing {len(frame)} of {len(table.frame)} rows."
        if len(frame) < len(table.frame)
        else ""
    )
    note = (table.caption + more).strip()
    return "\n".join(
        lines
        + (
            [f"\n_{note}_ (all rows: `{table.name}.csv`)"]
            if note
            else [f"\n(all rows: `{table.name}.csv`)"]
        )
    )


def _md_block(block: Any) -> str:
    if isinstance(block, Paragraph):
        return f"> {block.text}" if block.kind == "finding" else block.text
    if isinstance(block, Table):
        return _md_table(block)
    if isinstance(block, Figure):
        return f"![{block.title}](figures/{block.name}.png)\n\n_{block.title}_" + (
            f": {block.caption}" if block.caption else ""
        )
    if isinstance(block, Group):
        return f"### {block.title}\n\n" + "\n\n".join(_md_block(b) for b in block.blocks)
    return "\n".join(f"- {i}" for i in block)


def render_markdown(report: Report) -> str:
    """The report as Markdown (figures referenced as ``figures/<name>.png``)."""
    body = "\n\n".join(
        f"## {s.title}\n\n" + "\n\n".join(_md_block(b) for b in s.blocks) for s in report.sections
    )
    head, inputs, params = _footer_lines(report)
    footer = "\n".join(
        [
            "## Reproducibility",
            "",
            "; ".join(head),
            "",
            "| role | path | files | sha256 |",
            "|---|---|---|---|",
        ]
        + [f"| {r} | `{_md_escape(p)}` | {n} | `{h}` |" for r, p, h, n in inputs]
        + ["", "Parameters:", ""]
        + [f"- `{p}`" for p in params]
    )
    return Template(_template("report.md")).substitute(
        title=report.title,
        subtitle=str(report.summary.get("subtitle", "")),
        body=body,
        footer=footer,
    )
