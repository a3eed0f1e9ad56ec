"""XML text and attribute escaping for the CVAT and Label Studio writers.

The same output as :func:`xml.sax.saxutils.escape` and :func:`xml.sax.saxutils.quoteattr`
(tested against them), without importing :mod:`xml.sax.saxutils`, which pulls in
``urllib.request``, ``http.client``, ``ssl`` and ``email`` (~25 ms of every command's start-up:
the writers are imported by the report through the consensus export).
"""

from __future__ import annotations

__all__ = ["escape", "quoteattr"]

_TEXT = (("&", "&amp;"), (">", "&gt;"), ("<", "&lt;"))  # the ampersand first
_ATTR = (*_TEXT, ("\n", "&#10;"), ("\r", "&#13;"), ("\t", "&#9;"))


def escape(data: str) -> str:
    """``&``, ``<`` and ``>`` escaped.

    >>> escape("a < b & c")
    'a &lt; b &amp; c'
    """
    for key, value in _TEXT:
        data = data.replace(key, value)
    return data


def quoteattr(data: str) -> str:
    """An attribute value escaped and quoted (single quotes when it holds ``"`` only).

    >>> quoteattr('say "hi"'), quoteattr("it's")
    ('\\'say "hi"\\'', '"it\\'s"')
    """
    for key, value in _ATTR:
        data = data.replace(key, value)
    if '"' not in data:
        return f'"{data}"'
    if "'" not in data:
        return f"'{data}'"
    return '"{}"'.format(data.replace('"', "&quot;"))
