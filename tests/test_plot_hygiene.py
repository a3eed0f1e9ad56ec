"""Every public plot function returns a Figure, draws on a given Axes, and leaves pyplot alone.

No ``show()``, no pyplot figure (``plt.figure`` / ``plt.subplots`` / ``plt.gcf`` would register
one), no change to the global ``rcParams``. Functions drawing several panels take ``fig=`` (a
Figure or SubFigure) instead of ``ax=``.
"""

from __future__ import annotations

import copy

import matplotlib
import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure
from test_repr import make_study

import agreement
from agreement import plot, plot_heatmaps, plot_regions
from agreement.compare import plots as plot_compare
from agreement.image.disagreement import heatmaps
from agreement.study import consistency


@pytest.fixture(scope="module")
def calls():
    """One call per public plot function: name -> f(ax) drawing the study's results."""
    study = make_study(("ann1", "ann2", "sys"))
    result = agreement.evaluate(study)
    dis = agreement.disagreement(study, d=1)
    maps = heatmaps(study.annotations("img0.png"), study.categories, d=1)
    region = dis.regions.iloc[0]
    a = agreement.Batch.from_study(study, name="a", result=result, consensus=False)
    b = agreement.Batch.from_study(make_study(("ann1", "ann2", "sys2")), name="b",
                                   consensus=False)
    comp = agreement.compare_batches(a, b, n_boot=30, n_permutations=30)
    cons = agreement.human_consistency(study)
    return {
        "plot_heatmap": lambda ax: plot.plot_heatmap(maps.semantic, background=maps.majority,
                                                     ax=ax),
        "plot_region": lambda ax: plot.plot_region(region, study.annotations(region["image"]),
                                                   ax=ax),
        "plot_confusion": lambda ax: plot.plot_confusion(dis.pixel.confusion(), ax=ax),
        "plot_annotator_matrix": lambda ax: plot.plot_annotator_matrix(result.pq_matrix(), ax=ax),
        "plot_class_scores": lambda ax: plot.plot_class_scores(result.class_agreement(), ax=ax),
        "plot_classes": lambda ax: plot_compare.plot_classes(comp, ax=ax),
        "plot_differences": lambda ax: plot_compare.plot_differences(comp, ax=ax),
        "plot_annotators": lambda ax: plot_compare.plot_annotators(comp, ax=ax),
        "plot_class_pairs": lambda ax: plot_compare.plot_class_pairs(comp, ax=ax),
        "plot_per_image": lambda ax: consistency.plot_per_image(cons, ax=ax),
        "plot_image_heatmap": lambda ax: plot_heatmaps.plot_image_heatmap(
            maps.semantic, majority=maps.majority, categories=study.categories, ax=ax),
        "plot_frame_heatmap": lambda ax: plot_heatmaps.plot_frame_heatmap(
            maps.entropy, images=1, ax=ax),
        "plot_region_panels": lambda fig: plot_regions.plot_region_panels(
            region, study.annotations(region["image"]), study.categories, fig=fig),
    }


#: Plot functions taking ``fig=`` (several panels) instead of ``ax=``.
FIGURE_LEVEL = {"plot_region_panels"}
MODULES = (plot, plot_compare, consistency, plot_regions, plot_heatmaps)


def test_every_public_plot_function_is_covered(calls):
    public = {n for mod in MODULES for n in mod.__all__ if n.startswith("plot")}
    assert public == set(calls)


def _forbid(*_args, **_kwargs):
    raise AssertionError("plot functions must not use pyplot")


@pytest.mark.parametrize("name", ["plot_heatmap", "plot_region", "plot_confusion",
                                  "plot_annotator_matrix", "plot_class_scores", "plot_classes",
                                  "plot_differences", "plot_annotators", "plot_class_pairs",
                                  "plot_per_image", "plot_region_panels", "plot_image_heatmap",
                                  "plot_frame_heatmap"])
def test_returns_figure_and_leaves_globals_alone(calls, name, monkeypatch):
    for fn in ("show", "figure", "subplots", "gcf", "gca", "subplot", "rc", "style.use"):
        target = plt.style if fn == "style.use" else plt
        monkeypatch.setattr(target, fn.split(".")[-1], _forbid)
    monkeypatch.setattr(matplotlib, "use", _forbid)
    before = copy.deepcopy(dict(matplotlib.rcParams))
    open_figures = plt.get_fignums()
    fig = calls[name](None)
    assert isinstance(fig, Figure) and fig.axes
    own = Figure()
    if name in FIGURE_LEVEL:
        sub = own.subfigures(1, 2)[1]
        assert calls[name](sub) is own and sub.axes and all(a.has_data() for a in sub.axes)
    else:
        ax = own.add_subplot()
        assert calls[name](ax) is own and ax.has_data()
    assert dict(matplotlib.rcParams) == before
    assert plt.get_fignums() == open_figures
