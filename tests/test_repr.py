"""Notebook representations of result objects: small, escaped, parseable HTML with the numbers."""

from __future__ import annotations

import html
from html.parser import HTMLParser

import numpy as np
import pytest

import agreement
from agreement import Categories, Category, ImageInfo, PanopticAnnotation, Study

CATS = Categories([Category(7, "road", False), Category(8, "side<walk>", False),
                   Category(26, "car", True)])
VOID_ELEMENTS = {"br", "hr", "img", "meta", "input", "col", "wbr"}




def scene(name, curb, car=True, shape=(20, 24)):
    ids = np.full(shape, 1, np.int32)
    ids[:curb] = 2
    cats = {1: 7, 2: 8}
    if car:
        ids[12:18, 4:12] = 3
        cats[3] = 26
    return PanopticAnnotation(ImageInfo(name, *shape), ids,
                              PanopticAnnotation.from_map(ids, cats, file_name=name).segments)


def make_study(names=("ann1", "<i>x</i>", "sys")):
    """Three annotators on two images; ``sys`` puts the curb 4 rows higher and skips one car."""
    anns = {n: [] for n in names}
    for i in range(2):
        for n in names:
            planted = n == "sys"
            anns[n].append(scene(f"img{i}.png", 2 if planted else 6, car=not (planted and i)))
    return Study.from_annotations(anns, CATS)


class _Checker(HTMLParser):
    """Tracks open tags: the fragment must close what it opens, in order."""

    def __init__(self):
        super().__init__()
        self.stack, self.tags = [], set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        if tag not in VOID_ELEMENTS:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, (tag, self.stack)
        self.stack.pop()


def check_html(text: str, *numbers: float) -> str:
    assert isinstance(text, str) and 0 < len(text) < 30_000
    parser = _Checker()
    parser.feed(text)
    parser.close()
    assert parser.stack == []
    assert not parser.tags & {"script", "img", "style", "iframe"}
    assert "<i>" not in text and "<walk>" not in text  # user strings are escaped
    for value in numbers:
        assert f"{value:.3f}" in text or f"{value:.4f}" in text, (value, text[:500])
    return text


@pytest.fixture(scope="module")
def study():
    return make_study()


@pytest.fixture(scope="module")
def result(study):
    return agreement.evaluate(study)


def test_study_result(result):
    head = result.summary()
    assert list(head.index) == ["All", "Things", "Stuff"]
    text = check_html(result._repr_html_(), *head.loc["All", ["pq", "sq", "rq"]],
                      result.pq_matrix().loc["ann1", "sys"])
    assert "&lt;i&gt;x&lt;/i&gt;" in text and "side&lt;walk&gt;" in text
    assert "Per class" in text and "PQ, row = reference" in text
    # the pooled summary is the PQ of the summed per-class counts of every pair
    assert head.loc["All", "pq"] == pytest.approx(
        result.class_agreement()["pq"].dropna().mean())


def test_pq_result(result):
    pq = result.pq("ann1", "sys")
    check_html(pq._repr_html_(), pq.pq, pq.sq, pq.rq)
    assert repr(pq).startswith("PQResult(ann1 vs sys: PQ ")


def test_disagreement_and_pixel(study):
    dis = agreement.disagreement(study, d=1)
    r = repr(dis)
    assert r.startswith("StudyDisagreement(2 images, ") and "\n" not in r
    check_html(dis._repr_html_(), dis.pixel.alpha, dis.pixel.fleiss_kappa)
    px = agreement.pixel_agreement(study)
    assert repr(px) == (f"PixelAgreement(3 annotators, {px.pixels} pixels: "
                        f"Fleiss kappa {px.fleiss_kappa:.4f}, alpha {px.alpha:.4f})")
    check_html(px._repr_html_(), px.alpha, px.kappa_matrix().loc["ann1", "sys"])


def test_consensus_and_leave_one_out(study):
    c = agreement.consensus(study.annotations("img0.png"), study.categories)
    assert repr(c) == ("Consensus('img0.png': 3 annotators, 3 segments, 0 void pixels "
                       "(0 ties, 0 weak))")
    check_html(c._repr_html_())
    loo = agreement.leave_one_out(study)
    assert repr(loo).startswith("LeaveOneOut(3 annotators, 2 images, lowest PQ sys ")
    check_html(loo._repr_html_(), *loo.per_annotator["pq"])


def test_consistency(study):
    r = agreement.human_consistency(study)
    check_html(r._repr_html_(), r.covering, r.pri, r.pq)


def test_batch_and_comparison(study, result):
    a = agreement.Batch.from_study(study, name="old <b>", result=result, consensus=False)
    b = agreement.Batch.from_study(make_study(("ann1", "<i>x</i>", "sys2")), name="new",
                                   consensus=False)
    assert repr(a) == "Batch('old <b>': 2 images, 3 annotators, agreement='pairwise')"
    assert "old &lt;b&gt;" in check_html(a._repr_html_())
    comp = agreement.compare_batches(a, b, n_boot=50, n_permutations=50)
    check_html(comp._repr_html_())


def test_repr_escapes():
    assert html.escape("<i>") == "&lt;i&gt;"  # the premise of check_html
