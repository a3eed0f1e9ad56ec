"""The region browser's data: rows kept, pictures placed once, data island, HTML and Markdown
(hand-made tables; the page's script is tested in a real browser in test_report_browser.py)."""

from __future__ import annotations

import base64
import json
import re

import pandas as pd
from report_html import parse_report

from agreement.report.browse import REGION_BROWSER_COLUMNS, region_section, regions_browser
from agreement.report.model import Paragraph, RegionFigure, Report, Section
from agreement.report.render import data_island, render_html, render_markdown

PNG = b"\x89PNG\r\n\x1a\nfake"
JPEG = b"\xff\xd8\xff\xe0fake"


def _regions(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame({
        "rank": range(1, n + 1),
        "image": [f"img{i % 2}.png" for i in range(n)],
        "kind": ["class confusion", "unlabeled gap"] * (n // 2),
        "class_pair": ["road <-> sidewalk", "building <-> void"] * (n // 2),
        "annotators_a": [("a", "b")] * n,
        "annotators_b": [("c",), ("b",)] * (n // 2),
        "area": [100 * (n - i) for i in range(n)],
        "severity": [50.0 * (n - i) for i in range(n)],
    })


def _figure(rank: int, *, who=("a", "b", "c")) -> RegionFigure:
    return RegionFigure(f"region-{rank}", f"Region #{rank}: road <-> sidewalk", PNG,
                        "image img0.png", rank, tuple((w, JPEG) for w in who),
                        (("road", "#804080"), ("void", "#c8c8c8")), "disputed: road <-> sidewalk")


def test_rows_bounded_but_every_pictured_region_kept():
    pictures = {1: _figure(1), 6: _figure(6)}
    placed = {"region-1"}  # already shown with a proposal
    b = regions_browser(_regions(), pictures, max_rows=3, placed=placed)
    assert b.frame["id"].tolist() == [1, 2, 3, 6] and b.total == 6
    section = region_section(_regions(), pictures, max_rows=3, placed=set())
    assert section.blocks[0].text.startswith("6 ambiguous regions in total (every one in "
                                             "regions.csv); the 3 most severe and 1 more with "
                                             "a picture are listed here, 2 with a picture")
    assert list(b.frame.columns) == list(REGION_BROWSER_COLUMNS)
    assert b.frame["dissenters"].tolist() == [("c",), ("b",), ("c",), ("b",)]
    assert b.frame["picture"].tolist() == ["yes", "", "", "yes"]
    assert b.pictures == {"1": ("region-1",), "6": ("region-6",)}
    assert [f.name for f in b.gallery] == ["region-6"]  # region-1 is elsewhere in the page
    assert placed == {"region-1", "region-6"}
    assert b.facets == ("class_pair", "kind", "dissenters", "image")


def _report(browser, extra=()) -> Report:
    return Report("t", (Section("regions", "Ambiguous regions", (*extra, browser)),),
                  {"annotators": ["a", "b", "c"]})


def test_data_island_is_json_safe_inside_a_script():
    regions = _regions(2)
    regions.loc[0, "class_pair"] = "</script><script>alert(1)</script> <-> x"
    b = regions_browser(regions, {}, max_rows=10)
    html = render_html(_report(b))
    island = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html,
                       re.S).group(1)
    assert "</script" not in island and "<" not in island
    data = json.loads(island)
    assert data["schema"] == 1 and data["annotators"] == ["a", "b", "c"]
    rows = data["lists"]["regions"]
    assert rows["columns"] == list(REGION_BROWSER_COLUMNS) and rows["total"] == 2
    assert rows["rows"][0][:4] == [1, "img0.png", "class confusion",
                                   "</script><script>alert(1)</script> <-> x"]
    assert rows["rows"][0][4] == ["c"] and rows["sort"] == ["severity", "area", "image"]
    assert data_island(_report(b)) == data


def test_html_is_plain_table_and_pictures_without_script():
    pictures = {1: _figure(1), 2: _figure(2, who=("a", "b"))}
    html = render_html(_report(regions_browser(_regions(), pictures, max_rows=4),
                               (Paragraph("intro"),)))
    parsed = parse_report(html)
    assert "browser-regions" in parsed.tables
    jpeg = "data:image/jpeg;base64," + base64.b64encode(JPEG).decode()
    assert parsed.images.count(jpeg) == 5  # 3 + 2 panels
    assert 'data-annotator="c"' in html and html.count('class="panel"') == 5
    assert '<a href="#region-1">yes</a>' in html  # a link works without JavaScript
    assert html.count('<tr data-id="') == 4
    assert 'class="swatch void" style="background-color:#c8c8c8"' in html
    assert "disputed: road &lt;-&gt; sidewalk" in html
    assert "Showing 4 of 6; all in regions.csv." in html
    assert all(u.startswith(("data:", "#")) for u in parsed.urls)
    assert not re.search(r"https?://", html)


def test_markdown_lists_rows_and_gallery():
    b = regions_browser(_regions(), {1: _figure(1)}, max_rows=3)
    md = render_markdown(_report(b))
    assert "| id | image | kind | class_pair | dissenters | area | severity | picture |" in md
    assert "| 1 | img0.png | class confusion | road <-> sidewalk | c | 600 | 300.0 | yes |" in md
    assert "![Region #1: road <-> sidewalk](figures/region-1.png)" in md


def test_page_size_bounded_on_a_big_study():
    """20,000 regions (a few hundred images): the page holds max_rows rows, the CSV has all."""
    many = _regions(20_000)
    b = regions_browser(many, {1: _figure(1)}, max_rows=500)
    assert len(b.frame) == 500 and b.total == 20_000
    html = render_html(_report(b))
    assert html.count('<tr data-id="') == 500
    assert len(html.encode()) < 400_000  # rows + island + script + style, no picture
