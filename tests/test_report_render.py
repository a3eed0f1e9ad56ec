"""Report rendering on small hand-made result tables (no metric computed here)."""

from __future__ import annotations

import io
import math
import re

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from report_html import parse_report

from agreement.diagnosis import Finding, Findings
from agreement.errors import AgreementError
from agreement.report import Figure, Report, propose, write_report
from agreement.report.model import Input, RegionFigure
from agreement.report.render import render_html, render_markdown
from agreement.report.sections import ReportData, make_sections, make_summary


def _png() -> bytes:
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(1, 1))
    fig.add_subplot().imshow(np.arange(4).reshape(2, 2))
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


CATS = pd.DataFrame(
    {
        "category_id": [1, 2, 7, 8],
        "name": ["person", "car", "road", "sidewalk"],
        "isthing": [True, True, False, False],
    }
)
CLASSES = pd.DataFrame(
    {
        "category_id": [1, 2, 7, 8],
        "category": ["person", "car", "road", "sidewalk"],
        "isthing": [True, True, False, False],
        "pq": [0.55, 0.80, 0.70, 0.45],
        "sq": [0.85, 0.84, 0.90, 0.80],
        "rq": [0.65, 0.95, 0.78, 0.56],
        "boundary_iou": [0.7, 0.55, 0.8, 0.6],
        "alpha": [0.8, 0.9, 0.7, 0.5],
        "segments": [100, 80, 30, 30],
        "split": [10, 0, 0, 0],
        "merged": [12, 1, 0, 0],
        "missed": [20, 2, 0, 3],
        "small_segments": [40, 10, 0, 0],
        "missed_small_share": [0.4, 0.1, math.nan, math.nan],
        "missed_large_share": [0.05, 0.02, 0.0, 0.1],
    }
)
M = "within-image permutation (test)"
BORDER = Finding("boundary_offset", ("road", "sidewalk"), (7, 8), ("ann_c",), 6.2, "px", 5.1,
                 7.3, ("a.png", "b.png", "c.png"), 3, 900.0, 5.0, 0.001, 0.004, M,
                 {"annotator_mean": 6.0, "others_mean": {"ann_a": 0.1, "ann_b": -0.2},
                  "regions": [{"region": 1, "image": "a.png", "kind": "boundary placement",
                               "class_pair": "road <-> sidewalk", "dissenters": ["ann_c"],
                               "area": 50, "bbox": [0, 0, 5, 10]}]}, rank=1)
MERGE = Finding("merge", ("person",), (1,), ("ann_b",), 0.6, "share of objects", 0.4, 0.8,
                ("a.png", "b.png"), 3, 300.0, 4.0, 0.001, 0.008, M, {}, rank=2)
GUIDE = Finding("class_confusion", ("car", "person"), (2, 1), (), 0.3, "share of pixels", 0.2,
                0.4, ("c.png",), 3, 20.0, 3.0, 0.002, 0.009, M,
                {"by_annotator": {"ann_a": 0.3, "ann_b": -0.3}}, rank=3)
FINDINGS = Findings((BORDER, MERGE, GUIDE), pd.DataFrame({"annotator": ["ann_c"]}),
                    {"alpha": 0.01, "tests": 40})


def _data(**kw) -> ReportData:
    findings = kw.pop("findings", FINDINGS)
    proposals = propose(findings, things=dict(zip(CATS.name, CATS.isthing, strict=True)))
    fig = Figure("pair-7-8-1", "road / sidewalk region 1", _png(), "image a.png")
    crop = RegionFigure("region-1", "Region #1: road <-> sidewalk", _png(), "image a.png", 1,
                        (("ann_a", _png()), ("ann_b", _png()), ("ann_c", _png())),
                        (("road", "#804080"),), "disputed: road <-> sidewalk")
    base = dict(
        name="test",
        annotators=("ann_a", "ann_b", "ann_c"),
        images=3,
        shared_images=3,
        categories=CATS,
        overall=pd.DataFrame(
            {
                "group": ["All", "Things", "Stuff"],
                "pq": [0.6, 0.67, 0.57],
                "sq": [0.85] * 3,
                "rq": [0.7] * 3,
                "n": [4, 2, 2],
                "pq_ci_low": [0.5, 0.6, 0.4],
                "pq_ci_high": [0.7, 0.75, 0.7],
            }
        ),
        classes=CLASSES,
        findings=findings,
        proposals=proposals,
        pairs=pd.DataFrame({"a": ["road"], "b": ["sidewalk"], "regions": [5], "pixels": [5000]}),
        annotators_table=pd.DataFrame(
            {
                "annotator": ["ann_a", "ann_b", "ann_c"],
                "loo_pq": [0.7, 0.68, 0.5],
                "systematic": ["", MERGE.text, BORDER.text],
            }
        ),
        alpha=0.71,
        pair_figures={"pair:7-8": [fig], "finding-1": [crop]},
        figures={"pq_matrix": Figure("m", "matrix", _png())},
        validation=pd.DataFrame({"severity": ["warning"], "kind": ["gap"], "annotator": ["ann_b"]}),
    )
    base.update(kw)
    return ReportData(**base)


def _report(data: ReportData) -> Report:
    return Report(
        "Agreement report: test",
        make_sections(data),
        make_summary(data),
        (Input("ann_a: export", "a/panoptic.json", "ab" * 32),),
        {"iou_threshold": 0.5},
        "0.1.0",
    )


def test_one_proposal_per_finding_with_a_rule_of_its_kind():
    props = _data().proposals
    assert [p.key for p in props] == ["finding-1", "finding-2", "finding-3"]
    border, merge, guide = props
    assert border.title == "Say where the road / sidewalk border goes"
    assert "visible edge is the border between road and sidewalk" in border.rule
    assert "ann_c draws the road / sidewalk border 6.2 px into sidewalk" in border.rule
    assert "ann_a +0.1 px, ann_b -0.2 px" in border.rule  # who draws it where
    assert border.rule.endswith("Show ann_c the rule with the example crops below.")
    assert merge.title == "Say that touching person instances are separate"
    assert guide.title == "Tell car from person" and guide.annotators == ()
    assert "nobody alone is responsible" in guide.rule


def test_html_is_self_contained_and_complete(tmp_path):
    path = write_report(_report(_data()), tmp_path / "out")
    html = path.read_text("utf-8")
    parsed = parse_report(html)
    assert parsed.images and all(src.startswith("data:image/png;base64,") for src in parsed.images)
    assert not re.search(r"https?://", html)
    assert all(u.startswith(("data:", "#")) for u in parsed.urls)
    assert {
        "table-overall",
        "table-classes",
        "browser-findings",
        "table-annotators",
        "table-inputs",
    } <= set(parsed.tables)
    assert parsed.sections[:2] == ["summary", "proposals"]
    body = parsed.body
    first = body.index("Say where the road / sidewalk border goes")
    assert first < body.index("Say that touching person instances are separate")
    assert "Annotator ann_c stands out: ann_c draws the road / sidewalk border" in body
    assert "Findings that name no single annotator" in body
    assert "ab" * 32 in body and "iou_threshold = 0.5" in body
    # the findings are a second list of the data island; a row shows the finding's crops
    from agreement.report.render import data_island

    island = data_island(_report(_data()))["lists"]["findings"]
    assert island["facets"] == ["kind", "classes", "annotators", "image"]
    rows = [dict(zip(island["columns"], r, strict=True)) for r in island["rows"]]
    assert [r["id"] for r in rows] == [1, 2, 3]
    assert rows[0]["annotators"] == ["ann_c"] and rows[2]["annotators"] == ["everyone"]
    assert rows[0]["image"] == ["a.png", "b.png", "c.png"]
    assert island["pictures"] == {"1": ["region-1"]}
    assert html.count('id="region-1"') == 1


def test_written_files(tmp_path):
    out = tmp_path / "out"
    write_report(_report(_data()), out)
    names = {p.name for p in out.iterdir()}
    assert {
        "report.html",
        "report.md",
        "classes.csv",
        "proposals.csv",
        "findings.csv",
        "overall.csv",
        "figures",
    } <= names
    classes = pd.read_csv(out / "classes.csv")
    assert classes["category"].tolist()[0] == "sidewalk"  # worst PQ first
    assert classes.set_index("category").loc["road", "findings"] == \
        "#1 boundary offset (ann_c)"
    assert len(pd.read_csv(out / "proposals.csv")) == len(_data().proposals)
    md = (out / "report.md").read_text("utf-8")
    assert "## Findings and guideline proposals" in md and "figures/pair-7-8-1.png" in md
    assert (out / "figures" / "pair-7-8-1.png").read_bytes().startswith(b"\x89PNG")


def test_rewrite_replaces_previous_report_but_never_foreign_folder(tmp_path):
    out = tmp_path / "out"
    write_report(_report(_data()), out)
    (out / "stale.csv").write_text("x")
    write_report(_report(_data()), out)
    assert not (out / "stale.csv").exists()
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("keep")
    with pytest.raises(
        AgreementError, match="output folder must be empty or hold a previous report"
    ):
        write_report(_report(_data()), foreign)
    assert (foreign / "thesis.tex").read_text() == "keep"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_optional_sections():
    html = render_html(
        _report(
            _data(validation=None, consistency=pd.DataFrame({"n_images": [2], "covering": [0.7]}))
        )
    )
    parsed = parse_report(html)
    assert "consistency" in parsed.sections and "table-consistency" in parsed.tables
    assert "Validation was not available" in parsed.body
    assert "consistency" not in parse_report(render_html(_report(_data()))).sections


def test_text_is_escaped():
    cats = CATS.assign(name=["<b>person</b>", "car", "road", "sidewalk"])
    data = _data(categories=cats, classes=CLASSES.assign(category=cats["name"]))
    html = render_html(_report(data))
    assert "<b>person</b>" not in html and "&lt;b&gt;person&lt;/b&gt;" in html


def test_consistency_result_object():
    class Result:
        n_images, covering, pri, vi, pq = 2, 0.7, 0.85, 1.2, 0.4
        per_image = pd.DataFrame({"image": ["a", "b"], "covering": [0.9, 0.5]})

    parsed = parse_report(render_html(_report(_data(consistency=Result()))))
    assert {"table-consistency", "table-consistency_per_image"} <= set(parsed.tables)
    assert parsed.body.index("b 0.500") < parsed.body.index("a 0.900")  # least consistent first


def test_report_folder_gets_ordinary_permissions_not_owner_only(tmp_path):
    import os
    import stat

    umask = os.umask(0o022)  # reading the umask means setting it
    os.umask(umask)
    out = tmp_path / "out"
    write_report(_report(_data()), out)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o777 & ~umask
    assert stat.S_IMODE(os.stat(out / "report.html").st_mode) == 0o666 & ~umask


def test_no_finding_is_said_plainly():
    empty = Findings((), pd.DataFrame(), {"tests": 120})
    data = _data(findings=empty, pair_figures={})
    body = parse_report(render_html(_report(data))).body
    assert "No finding: no annotator differs from the others beyond the study's own noise" \
        in body
    assert "No guideline revision is proposed" in body
    summary = make_summary(data)
    assert summary["findings"] == [] and summary["problems"] == []
    assert summary["no_finding"].startswith("No finding")


def test_two_annotators_blame_neither():
    between = Finding("class_confusion", ("car", "person"), (2, 1), (), 0.5, "share of pixels",
                      0.4, 0.6, ("a.png",), 20, 50.0, 4.0, 0.001, 0.002, M,
                      {"between": ["ann_a", "ann_b"]}, rank=1)
    data = _data(findings=Findings((between,), pd.DataFrame(), {}), annotators=("ann_a", "ann_b"))
    body = parse_report(render_html(_report(data))).body
    assert "With two annotators there is no majority" in body
    assert "stands out" not in body
    (p,) = data.proposals
    assert "nothing says which of ann_a and ann_b follows the guideline" in p.rule


def test_an_undefined_alpha_is_said_in_words():
    # a class-agnostic study without void (BSDS): one label for every pixel, alpha is NaN
    md = render_markdown(_report(_data(alpha=math.nan)))
    assert "pixel Krippendorff's alpha not defined (every pixel has the same label)." in md
    assert "alpha nan" not in md
    assert "pixel Krippendorff's alpha 0.710 (void pixels excluded)." in \
        render_markdown(_report(_data()))


def test_the_numbers_are_explained_in_the_units_the_tables_use():
    md = render_markdown(_report(_data()))
    # the summary gives fractions, as the tables, and points to the explanations
    assert ("Panoptic quality between annotators, all classes: PQ 0.600 (95% CI over images "
            "0.500–0.700), SQ 0.850, RQ 0.700 (fractions, 0 to 1; 1 = identical)") in md
    assert 'What each number means: "How to read these numbers", at the end.' in md
    assert "(percent)" not in md
    section = md.split("## How to read these numbers\n\n")[1].split("\n---\n")[0]
    for term in ("- PQ (panoptic quality) = SQ x RQ, from 0 to 1", "- SQ (segmentation quality)",
                 "- RQ (recognition quality)", "- Boundary PQ: ", "- Kappa (Cohen's",
                 "Void (unlabelled) pixels are left out of kappa and alpha (void: exclude)",
                 "- Intervals (CI): 95% percentile bootstrap over images (1000 resamples",
                 "in percentage points: a difference of two shares", "docs/metrics.md"):
        assert term in section, term
    # the level and resamples are the report's own
    md = render_markdown(_report(_data(confidence=0.9, n_bootstrap=200)))
    assert "PQ 0.600 (90% CI over images 0.500–0.700)" in md
    assert "- Intervals (CI): 90% percentile bootstrap over images (200 resamples" in md
    html = parse_report(render_html(_report(_data()))).body
    assert "How to read these numbers" in html and "Boundary PQ: PQ with each match" in html


def test_markdown_has_no_gap_where_a_block_shows_nothing():
    empty = Findings((), pd.DataFrame(), {"tests": 120})
    md = render_markdown(_report(_data(findings=empty, pair_figures={})))
    assert "\n\n\n" not in md
    assert "No guideline revision is proposed." in md


def test_a_review_queue_of_no_row_says_it_was_not_asked_for():
    from agreement.study.review import REVIEW_COLUMNS

    empty = pd.DataFrame(columns=REVIEW_COLUMNS)
    regions = pd.DataFrame({"rank": [1, 2], "image": ["a.png", "b.png"],
                            "kind": ["class confusion"] * 2,
                            "class_pair": ["road <-> sidewalk"] * 2,
                            "annotators_a": [("ann_a", "ann_b")] * 2,
                            "annotators_b": [("ann_c",)] * 2, "area": [50, 40],
                            "severity": [20.0, 10.0]})
    md = render_markdown(_report(_data(review=empty, regions=regions)))
    assert ("No row was asked for (review rows 0); every ambiguous region is in regions.csv."
            in md)
    md = render_markdown(_report(_data(review=empty, regions=regions.iloc[:0])))
    assert "Nothing to review: no ambiguous region." in md
