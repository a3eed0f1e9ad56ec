"""Render a :class:`~agreement.report.model.Report` as one self-contained HTML file and Markdown.

HTML: figures are embedded as ``data:image/png;base64`` (or ``image/jpeg``) URIs, the style sheet
and the script are inlined, nothing refers to the network; the templates are files under
``agreement/report/templates/`` filled with :class:`string.Template`. Markdown refers to the
figures as files under ``figures/``.

The page works without JavaScript (tables and pictures are plain HTML). Its script
(``templates/browser.js``) reads the JSON data island ``<script type="application/json"
id="report-data">``::

    {"schema": 1, "annotators": [...],
     "lists": {"regions": {"title", "id", "columns", "facets", "sort", "total",
                           "rows": [[value per column], ...],
                           "pictures": {"<id>": ["<html id>", ...]}, "empty": "..."},
               "findings": {...}}}

and, for every list with an element ``.browser[data-list=<key>]``, adds filters (one per facet;
a list value matches when any member does), sorting, a viewer showing the pictures of the row
clicked, and checkboxes showing or hiding each annotator's panels in every picture.
"""

from __future__ import annotations

import base64
import html
import json
import math
from functools import cache
from importlib import resources
from string import Template
from typing import Any

import numpy as np
import pandas as pd

from .model import Browser, Figure, Group, Paragraph, RegionFigure, Report, Section, Table

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


def _data_uri(data: bytes) -> str:
    mime = "image/jpeg" if data[:2] == b"\xff\xd8" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _html_figure(fig: Figure) -> str:
    if isinstance(fig, RegionFigure) and fig.panels:
        return _html_region_figure(fig)
    cap = html.escape(fig.title + (": " + fig.caption if fig.caption else ""))
    return (
        f'<figure id="figure-{html.escape(fig.name)}"><img src="{_data_uri(fig.png)}" '
        f'alt="{html.escape(fig.title)}"><figcaption>{cap}</figcaption></figure>'
    )


def _html_region_figure(fig: RegionFigure) -> str:
    panels = "".join(
        f'<div class="panel" data-annotator="{html.escape(who)}"><img src="{_data_uri(data)}" '
        f'alt="{html.escape(who)}: labels around region #{fig.region}" loading="lazy"></div>'
        for who, data in fig.panels
    )
    legend = "".join(
        f'<li><span class="swatch{" void" if name == "void" else ""}" '
        f'style="background-color:{html.escape(colour)}"></span>{html.escape(name)}</li>'
        for name, colour in fig.legend
    )
    legend += (
        f'<li><span class="outline"></span>{html.escape(fig.outline)}</li>'
        '<li><span class="regionbox"></span>region box</li>'
    )
    cap = html.escape(fig.title + (": " + fig.caption if fig.caption else ""))
    return (
        f'<figure class="region" id="{html.escape(fig.name)}" data-region="{fig.region}">'
        f'<div class="panels">{panels}</div><ul class="legend">{legend}</ul>'
        f"<figcaption>{cap}</figcaption></figure>"
    )


def _cell(value: Any) -> str:
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    return format_value(value, 1)


def _html_browser(b: Browser) -> str:
    cols = list(b.columns)
    head = "".join(f'<th data-col="{html.escape(c)}">{html.escape(c)}</th>' for c in cols)
    rows = []
    for rec in b.frame.to_dict("records"):
        ident = str(rec[b.id_column])
        cells = []
        for c in cols:
            text = html.escape(_cell(rec[c]))
            if c == "picture" and ident in b.pictures:
                text = f'<a href="#{html.escape(b.pictures[ident][0])}">{text or "yes"}</a>'
            cls = ' class="text"' if isinstance(rec[c], str | tuple) else ""
            cells.append(f"<td{cls}>{text}</td>")
        rows.append(f'<tr data-id="{html.escape(ident)}">{"".join(cells)}</tr>')
    more = (
        f" Showing {len(b.frame)} of {b.total}; all in {b.key}.csv."
        if b.total > len(b.frame)
        else ""
    )
    note = html.escape((b.caption + more).strip())
    gallery = "\n".join(_html_figure(f) for f in b.gallery)
    key = html.escape(b.key)
    return (
        f'<div class="browser" data-list="{key}">'
        '<div class="browser-controls" hidden></div>'
        f'<div class="browser-table"><table id="browser-{key}"><caption>{html.escape(b.title)}'
        f"</caption><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        + (f'<p class="table-note">{note}</p>' if note else "")
        + '<div class="browser-viewer" aria-live="polite" hidden></div>'
        + f'<div class="browser-gallery">{gallery}</div></div>'
    )


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [str(v) for v in value]
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    return value


def data_island(report: Report) -> dict:
    """The JSON data of the page's browsers (see the module notes), as a dict."""
    lists = {}
    for s in report.sections:
        for b in s.blocks:
            if isinstance(b, Browser):
                lists[b.key] = {
                    "title": b.title,
                    "id": b.id_column,
                    "columns": list(b.frame.columns),
                    "facets": list(b.facets),
                    "sort": list(b.sort),
                    "total": int(b.total),
                    "rows": [[_json_value(v) for v in row]
                             for row in b.frame.itertuples(index=False)],
                    "pictures": {k: list(v) for k, v in b.pictures.items()},
                    "empty": b.empty_note,
                }
    return {"schema": 1, "annotators": [str(a) for a in report.summary.get("annotators", [])],
            "lists": lists}


def _script_json(data: dict) -> str:
    """JSON safe inside <script>: no ``</script>``, no ``<!--`` (every ``<`` escaped)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


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
    if isinstance(block, Browser):
        return _html_browser(block)
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
        data=_script_json(data_island(report)),
        script=_template("browser.js"),
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
        return f"### {block.title}\n\n" + _md_blocks(block.blocks)
    if isinstance(block, Browser):
        frame = block.frame[list(block.columns)].map(_cell)
        table = _md_table(Table(block.key, block.title, frame, block.caption, max_rows=30))
        return "\n\n".join([table, *(_md_block(f) for f in block.gallery)])
    return "\n".join(f"- {i}" for i in block)


def _md_blocks(blocks: Any) -> str:
    """Blocks one blank line apart; a block with nothing to show (a hidden table, an empty
    list) leaves no gap."""
    return "\n\n".join(text for text in map(_md_block, blocks) if text)


def render_markdown(report: Report) -> str:
    """The report as Markdown (figures referenced as ``figures/<name>.png``)."""
    body = "\n\n".join(
        f"## {s.title}\n\n" + _md_blocks(s.blocks) for s in report.sections
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
