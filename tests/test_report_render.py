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

from agreement.errors import AgreementError
from agreement.report import Figure, Report, Thresholds, diagnose_classes, propose, write_report
from agreement.report.model import Input
from agreement.report.render import render_html
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
CONFUSION = pd.DataFrame(
    {
        "category_id": [7, 8, 1],
        "other_id": [8, 7, 2],
        "other": ["sidewalk", "road", "car"],
        "pixels": [5000, 5000, 10],
        "share": [0.12, 0.25, 0.001],
    }
)


def _data(**kw) -> ReportData:
    diagnoses = diagnose_classes(CLASSES, CONFUSION)
    gains = {"confusion": 0.08, "instances": 0.03, "boundaries": 0.01, "small_misses": 0.02}
    proposals = propose(
        diagnoses,
        names=dict(zip(CATS.category_id, CATS.name, strict=False)),
        isthing=dict(zip(CATS.category_id, CATS.isthing, strict=False)),
        gain=lambda kind, cats: (gains[kind], "test gain"),
    )
    fig = Figure("pair-7-8-1", "road / sidewalk region 1", _png(), "image a.png")
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
        diagnoses=diagnoses,
        proposals=proposals,
        pairs=pd.DataFrame({"a": ["road"], "b": ["sidewalk"], "regions": [5], "pixels": [5000]}),
        annotators_table=pd.DataFrame(
            {
                "annotator": ["ann_a", "ann_b", "ann_c"],
                "loo_pq": [0.7, 0.68, 0.5],
                "systematic": ["", "", "labels sidewalk as road (12% of its pixels)"],
            }
        ),
        alpha=0.71,
        pair_figures={"pair:7-8": [fig]},
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


def test_diagnoses_follow_rules():
    kinds = {(d.category, d.kind, d.other) for d in diagnose_classes(CLASSES, CONFUSION)}
    assert ("person", "instances", None) in kinds  # RQ 0.65, 22 of 100 split / merged
    assert ("person", "small_misses", None) in kinds  # 40% small missed vs 5% large
    assert ("car", "boundaries", None) in kinds  # RQ 0.95, boundary IoU 0.55
    assert ("road", "confusion", "sidewalk") in kinds and ("sidewalk", "confusion", "road") in kinds
    assert ("person", "confusion", "car") not in kinds  # 0.1% is under the 5% threshold
    assert ("road", "boundaries", None) not in kinds  # SQ 0.90 and boundary IoU 0.8 are fine
    strict = diagnose_classes(CLASSES, CONFUSION, thresholds=Thresholds(confusion_share=0.2))
    assert {(d.category, d.other) for d in strict if d.kind == "confusion"} == {
        ("sidewalk", "road")
    }


def test_proposals_merge_pair_and_rank_by_gain():
    props = _data().proposals
    assert (
        props[0].key == "pair:7-8"
        and props[0].title == "Define the border between road and sidewalk"
    )
    assert len(props[0].evidence) == 2  # both directions of the confusion
    assert [p.expected_gain for p in props] == sorted(
        (p.expected_gain for p in props), reverse=True
    )


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
        "table-proposals",
        "table-annotators",
        "table-inputs",
    } <= set(parsed.tables)
    assert parsed.sections[:2] == ["summary", "proposals"]
    body = parsed.body
    first = body.index("Define the border between road and sidewalk")
    assert first < body.index("Say what counts as one person")
    assert "ann_c stands out: labels sidewalk as road" in body
    assert "ab" * 32 in body and "iou_threshold = 0.5" in body


def test_written_files(tmp_path):
    out = tmp_path / "out"
    write_report(_report(_data()), out)
    names = {p.name for p in out.iterdir()}
    assert {
        "report.html",
        "report.md",
        "classes.csv",
        "proposals_full.csv",
        "overall.csv",
        "figures",
    } <= names
    classes = pd.read_csv(out / "classes.csv")
    assert classes["category"].tolist()[0] == "sidewalk"  # worst PQ first
    assert len(pd.read_csv(out / "proposals_full.csv")) == len(_data().proposals)
    md = (out / "report.md").read_text("utf-8")
    assert "## Guideline revision proposals" in md and "figures/pair-7-8-1.png" in md
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
