"""Small HTML blocks for the notebook representations (``_repr_html_``) of result objects.

Tables are the heads of DataFrames (``DataFrame.to_html`` escapes cell text), every other string
goes through :func:`html.escape`; no images, no scripts.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

__all__ = ["block", "figures", "table"]

HEAD = 10


def table(frame: pd.DataFrame, *, caption: str | None = None, rows: int = HEAD,
          index: bool = False) -> str:
    """The first ``rows`` rows of ``frame`` as an HTML table (floats to 3 decimals).

    Examples
    --------
    >>> "<table" in table(pd.DataFrame({"a<b": [1.23456]}), caption="x & y")
    True
    """
    head = frame.head(rows)
    more = len(frame) - len(head)
    note = f" (first {rows} of {len(frame)} rows)" if more > 0 else ""
    title = "" if caption is None else f"<p>{html.escape(caption)}{note}</p>"
    body = head.to_html(index=index, float_format="{:.3f}".format, na_rep="–", border=0,
                        max_cols=12)
    return title + body


def figures(values: Mapping[str, object]) -> str:
    """``name value`` pairs in one line, numbers to 4 decimals (NaN shown as a dash)."""
    parts = []
    for name, value in values.items():
        if isinstance(value, (float, np.floating)):
            text = "–" if np.isnan(value) else f"{float(value):.4f}"
        else:
            text = str(value)
        parts.append(f"{html.escape(name)} <b>{html.escape(text)}</b>")
    return "<p>" + " · ".join(parts) + "</p>"


def block(title: str, parts: Iterable[str]) -> str:
    """A titled ``<div>`` holding already-built HTML parts."""
    return f"<div><p><b>{html.escape(title)}</b></p>{''.join(parts)}</div>"
