"""The report on the sample study: planted findings named, numbers equal the library's, HTML
self-contained (parsed with html.parser)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from report_html import parse_report

from agreement.metrics.pq import summarize

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(sample_report):
    return sample_report


@pytest.fixture(scope="module")
def result(built):
    from agreement.study.pq import evaluate

    return evaluate(built[0].study)


def test_html_self_contained(built):
    _, _report, _, html = built
    parsed = parse_report(html)
    assert len(parsed.images) >= 3
    assert all(src.startswith(("data:image/png;base64,", "data:image/jpeg;base64,"))
               for src in parsed.images)
    assert not re.search(r"https?://", html)
    assert all(u.startswith(("data:", "#")) for u in parsed.urls)
    assert {
        "table-overall",
        "table-classes",
        "browser-findings",
        "table-confused_pairs",
        "table-annotators",
        "table-pq_matrix",
        "table-inputs",
        "table-review_queue",
    } <= set(parsed.tables)
    assert parsed.sections[:9] == [
        "summary",
        "proposals",
        "heatmaps",
        "classes",
        "pairs",
        "regions",
        "review",
        "annotators",
        "validation",
    ]


def _planted(finding: dict) -> bool:
    """A finding that is one of the sample's planted habits (data/sample/planted.json)."""
    from _sample_habits import planted

    return planted(finding["annotators"], finding["kind"], finding["categories"])


def test_planted_facts_first_with_a_rule_of_their_kind(built):
    _, _report, out, html = built
    doc = json.loads((out / "findings.json").read_text("utf-8"))
    found = doc["findings"]
    assert found and all(_planted(f) for f in found)  # nothing but planted habits
    # chen's road / sidewalk border is the first class-pair finding, in the first three
    pair = next(f for f in found if len(f["categories"]) == 2)
    assert pair["annotators"] == ["chen"] and set(pair["categories"]) == {"road", "sidewalk"}
    assert pair["kind"] == "boundary_offset" and pair["rank"] <= 3 and pair["effect"] > 20
    assert [r["image"] for r in pair["evidence"]["regions"]]  # example regions
    assert all("chen" in r["dissenters"] for r in pair["evidence"]["regions"])
    proposals = pd.read_csv(out / "proposals.csv")
    row = proposals[proposals["rank"] == pair["rank"]].iloc[0]
    assert row["title"] == "Say where the road / sidewalk border goes"
    assert "visible edge is the border between road and sidewalk" in row["rule"]
    assert "chen draws the road / sidewalk border" in row["rule"]
    assert "Show chen the rule with the example crops below." in row["rule"]
    # the annotators' spread on the same border asks for the same rule: one proposal, both cited
    spread = next(f for f in found if f["evidence"].get("scope") == "spread")
    assert spread["categories"] == pair["categories"] and spread["rank"] > pair["rank"]
    same = proposals[proposals["rank"] == spread["rank"]].iloc[0]
    assert (same["title"], same["rule"]) == (row["title"], row["rule"])
    assert f"Also in this study: {spread['text']}" in row["rule"]
    assert row["rule"].endswith("Show chen the rule with the example crops below. Add the rule "
                                "to the guideline with the example crops below: nobody alone is "
                                "responsible.")
    body = parse_report(html).body
    assert f"{pair['rank']}. Say where the road / sidewalk border goes (findings " \
        f"{pair['rank']} and {spread['rank']})" in body
    assert f"{spread['rank']}. Say where the road / sidewalk border goes" not in body
    assert "Proposed rule: State which visible edge is the border between road and sidewalk" \
        in body


def test_one_source_for_every_reader(built):
    """The summary (--json), the proposals, the annotator section and findings.json read the
    same findings."""
    _, report, out, html = built
    doc = json.loads((out / "findings.json").read_text("utf-8"))
    assert report.summary["findings"] == doc["findings"]
    assert [p["rank"] for p in report.summary["problems"]] == [f["rank"] for f in doc["findings"]]
    assert pd.read_csv(out / "proposals.csv")["finding"].tolist() == \
        [f["text"] for f in doc["findings"]]
    annotators = pd.read_csv(out / "annotators.csv").set_index("annotator")
    for name in ("alice", "bruno", "chen", "dana"):
        mine = [f["text"] for f in doc["findings"] if f["annotators"] == [name]]
        assert annotators.loc[name, "findings"] == len(mine)
    body = parse_report(html).body
    chen = next(f for f in doc["findings"] if f["annotators"] == ["chen"])
    assert f"Annotator chen stands out: {chen['text']}" in body
    assert f"chen: {chen['text']}" in body  # the annotator section


def test_numbers_equal_the_python_api(built, result):
    _opened, report, out, _ = built
    per_class = result.class_agreement()
    overall = summarize(per_class)
    for group in ("All", "Things", "Stuff"):
        got = report.summary["overall"][group]
        for m in ("pq", "sq", "rq"):
            assert got[m] == overall.loc[group, m]
    classes = pd.read_csv(out / "classes.csv").set_index("category")
    expected = per_class.set_index("name")
    for name, row in classes.iterrows():
        assert math.isclose(row["pq"], expected.loc[name, "pq"], rel_tol=1e-12)
        assert math.isclose(row["rq"], expected.loc[name, "rq"], rel_tol=1e-12)
    matrix = pd.read_csv(out / "pq_matrix.csv").set_index("ref")
    assert math.isclose(matrix.loc["alice", "chen"], result.pq("alice", "chen").pq, rel_tol=1e-12)
    lo, hi = (
        report.summary["overall"]["All"]["pq_ci_low"],
        report.summary["overall"]["All"]["pq_ci_high"],
    )
    assert lo < overall.loc["All", "pq"] < hi


def test_alpha_equals_pixel_agreement(built):
    from agreement.study.pixels import pixel_agreement

    assert built[1].summary["alpha"] == pytest.approx(
        pixel_agreement(built[0].study).alpha, abs=1e-12
    )


def test_footer_has_checksums_and_parameters(built):
    _, report, _, html = built
    roles = [i.role for i in report.inputs]
    assert "alice: export" in roles and "images" in roles
    assert all(re.fullmatch(r"[0-9a-f]{64}", i.sha256) for i in report.inputs)
    body = parse_report(html).body
    assert report.inputs[0].sha256 in body and "n_bootstrap = 200" in body
    assert json.loads(json.dumps(report.parameters))["findings.alpha"] == 0.01


def test_planted_instance_habits_named(built):
    _, _report, out, _ = built
    doc = json.loads((out / "findings.json").read_text("utf-8"))
    kinds = {(f["kind"], tuple(f["annotators"]), tuple(f["categories"])) for f in doc["findings"]}
    assert ("split", ("dana",), ("truck",)) in kinds  # cab and box as two trucks
    assert ("layer_overlap", ("dana",), ()) in kinds  # occlusions resolved in another order
    assert not [k for k in kinds if k[1] == ("alice",)]  # the careful annotator: nothing


def test_pictures_every_region_once_with_a_panel_per_annotator(built):
    from agreement.report.model import Paragraph, RegionFigure
    from agreement.report.render import data_island

    opened, report, out, html = built
    regions = [f for f in report.figures if isinstance(f, RegionFigure)]
    names = [f.name for f in regions]
    assert len(names) == len(set(names)) == 60  # ReportOptions.max_pictures
    assert "region-1" in names  # the most severe region always has a picture
    for fig in regions:
        image = fig.caption.split(",")[0].removeprefix("image ")
        assert [who for who, _ in fig.panels] == list(opened.study.annotators_of(image))
        assert html.count(f'id="{fig.name}"') == 1  # placed once in the page
        assert fig.legend and fig.outline.startswith("disputed")
    # every kind of region has a picture
    kinds = {f.caption.split(", ")[2].split(";")[0] for f in regions}
    assert kinds == {"boundary placement", "class confusion", "merge-split", "missed object",
                     "unlabeled gap"}
    # every proposal has example crops of its own kind of region
    groups = [g for g in report.section("proposals").blocks
              if hasattr(g, "blocks") and g.kind == "proposal"]  # not the unfound pairs
    assert groups
    for g in groups:
        crops = [b for b in g.blocks if isinstance(b, RegionFigure)]
        assert crops and all(c.title.startswith("Region #") for c in crops), g.title
    split = next(g for g in groups if g.title.endswith("Say what counts as one truck"))
    assert all(", merge-split" in c.caption for c in split.blocks if isinstance(c, RegionFigure))
    findings = data_island(report)["lists"]["findings"]
    assert findings["facets"] == ["kind", "classes", "annotators", "image"]
    ranks = [int(b.text.split(":")[0].removeprefix("Finding").strip() or g.title.split(".")[0])
             for g in groups for b in g.blocks
             if isinstance(b, Paragraph) and b.text.startswith("Finding")]
    assert len(ranks) > len(groups)  # a proposal cites two findings
    assert set(findings["pictures"]) == {str(k) for k in sorted(ranks)} == \
        {str(k) for k in range(1, len(ranks) + 1)}
    island = data_island(report)["lists"]["regions"]
    assert island["total"] == len(pd.read_csv(out / "regions.csv"))
    beyond = [n for n in names if int(n.split("-")[1]) > 500]  # pictured, kept in the list
    assert len(island["rows"]) == 500 + len(beyond)
    assert island["facets"] == ["class_pair", "kind", "dissenters", "image"]
    assert set(island["pictures"]) == {n.split("-")[1] for n in names}


def test_heatmap_figures_and_report_size(built):
    _, report, out, _ = built
    heat = report.section("heatmaps").figures
    names = [f.name for f in heat]
    assert len([n for n in names if n.startswith("image-")]) == 3
    assert "mean" in names and "pair-road-vs-sidewalk" in names
    assert (out / "figures" / "pair-road-vs-sidewalk.png").is_file()
    assert (out / "report.html").stat().st_size < 10_000_000


def test_review_queue_csv_is_the_pass_s_regions_ranked(built):
    from agreement.study.review import REVIEW_COLUMNS, review_queue

    opened, _report, out, html = built
    written = pd.read_csv(out / "review_queue.csv", keep_default_na=False)
    assert written.columns.tolist() == REVIEW_COLUMNS and len(written) == 100
    findings = json.loads((out / "findings.json").read_text())["findings"]
    # a region that is an example of a finding is explained by it, and its priority doubled
    explained = written[written.finding != ""]
    assert len(explained) > 0
    examples: dict[int, int] = {}  # region -> the best-ranked finding listing it
    for f in sorted(findings, key=lambda f: f["rank"]):
        for r in f["evidence"].get("regions", ()):
            examples.setdefault(r["region"], f["rank"])
    ranks = {f["rank"]: f for f in findings}
    for region, finding, why in zip(explained.region, explained.finding, explained.why,
                                    strict=True):
        rank = int(finding.split()[1])
        assert rank in ranks and why.endswith(f"explained by {finding}")
        assert finding.startswith(f"finding {rank} ({ranks[rank]['kind']}")
        if region in examples:  # a finding listing the region comes first
            assert rank == examples[region]
    assert set(examples) & set(explained.region)
    assert (written.priority.diff().dropna() <= 0).all()  # ranked by priority
    assert (written.image.iloc[0], written.annotators.iloc[0]) == ("street_010.jpg", "dana")
    again = review_queue(opened.study, findings=findings, top=100)
    assert written.why.tolist() == again.why.tolist()
    body = parse_report(html).body
    assert "regions to look at again first (every one in review_queue.csv)" in body
    assert "the exports carry no tool reference" in body


def test_the_car_truck_confusion_without_a_finding_says_why(built):
    # the sample's car <-> truck confusion is large but no finding: the report says what the
    # closest test lacked, from finding_tests.csv (nothing tested again)
    _, _report, out, html = built
    tests = pd.read_csv(out / "finding_tests.csv")
    t = tests[(tests["kind"] == "class_confusion") & (tests["categories"] == "car / truck")
              & (tests["annotator"] == "dana")].iloc[0]
    assert not t["finding"] and t["effect"] < t["min_effect"]
    line = (f"car <-> truck (class confusion): 100,762 px in 15 ambiguous regions on 9 images; "
            f"closest test: dana labels car as truck, {100 * t['effect']:+.1f} percentage points "
            f"on {t['n_images']} images, adjusted p {t['p_adjusted']:.3g}: below the minimum "
            f"effect (10 percentage points) and not significant")
    assert line in (out / "report.md").read_text("utf-8")
    assert "Large disagreements without a finding" in parse_report(html).body
