"""Parse a report.html with html.parser: images, links, tables, text (shared by report tests)."""

from __future__ import annotations

from html.parser import HTMLParser


class ReportParser(HTMLParser):
    """Collects every <img> src, every URL-bearing attribute, table ids and the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.images: list[str] = []
        self.urls: list[str] = []
        self.tables: list[str] = []
        self.sections: list[str] = []
        self.text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("src") or "")
        for key in ("href", "src", "action", "data", "poster"):
            if a.get(key):
                self.urls.append(a[key])
        if tag == "table":
            self.tables.append(a.get("id") or "")
        if tag == "section":
            self.sections.append(a.get("id") or "")
        if tag in ("style", "script"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)

    @property
    def body(self) -> str:
        return " ".join(" ".join(self.text).split())


def parse_report(html: str) -> ReportParser:
    p = ReportParser()
    p.feed(html)
    p.close()
    return p
