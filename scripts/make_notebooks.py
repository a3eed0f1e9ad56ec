# ruff: noqa: E501  (cell sources are notebook text; their lines follow the notebook, not this file)
"""Write the notebooks of ``notebooks/`` from the cell sources below (outputs stripped).

The notebooks are generated so they stay reviewable as code, deterministic (fixed cell ids, no
outputs, no execution counts) and in sync with the package; ``tests/test_notebooks.py`` checks
that the committed files equal what this script writes, and runs them.

    python scripts/make_notebooks.py            # writes notebooks/*.ipynb
    python scripts/make_notebooks.py --out DIR  # writes elsewhere (used by the test)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT_CELL = '''%matplotlib inline
from pathlib import Path

# the repository root: the first folder upwards holding pyproject.toml
ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "pyproject.toml").is_file())
SAMPLE = ROOT / "data" / "sample"'''

NB01 = [
    ("md", """# 1. Explore how annotators agree

Four annotators labelled the same street scenes (panoptic segmentation: every pixel gets a class,
and every object its own segment). Before trusting the labels, or the guideline they followed, we
want to know **how much they agree, about which classes, and where**.

This notebook walks through one annotation batch, `data/sample/batch1`:

1. load the study (annotators x images);
2. panoptic quality (PQ) per class, across all annotator pairs;
3. the annotator x annotator agreement matrix;
4. pixel agreement (Krippendorff's alpha) per class;
5. disagreement heatmaps, and the worst ambiguous regions with crops."""),
    ("code", ROOT_CELL + """

from matplotlib.figure import Figure

import agreement
from agreement import disagreement, evaluate, read_photo
from agreement.image.disagreement import heatmaps
from agreement.plot import plot_annotator_matrix, plot_class_scores, plot_heatmap
from agreement.plot_regions import plot_region_panels

PHOTOS = SAMPLE / "images"  # the photos the annotators labelled"""),
    ("md", """## Load the study

A study folder holds one export per annotator; images are aligned by file name. Nothing is decoded
yet: maps are read lazily, image by image. One annotation is missing (dana did not label
`street_013.jpg`): that image is compared among the three others."""),
    ("code", """study = agreement.load_study(SAMPLE / "batch1")
study"""),
    ("md", """## Panoptic quality per class

`evaluate` makes one pass over the images: each image's maps are decoded once, every ordered
annotator pair is matched (same class, IoU > 0.5), and small additive counts (TP, FP, FN, IoU
sums, boundary sums) leave the image. PQ = SQ x RQ is computed from the sums at the end.

`class_agreement()` pools all annotator pairs: one row per class."""),
    ("code", """result = evaluate(study)
result"""),
    ("md", """The result shows PQ / SQ / RQ with the counts of every annotator pair summed (All,
Things, Stuff), the head of the per-class table and the PQ matrix; its tables are DataFrames.
`class_agreement()` is the full per-class table:"""),
    ("code", """per_class = result.class_agreement()
columns = ["name", "isthing", "pq", "sq", "rq", "mean_boundary_iou", "n_pairs"]
per_class[columns].sort_values("pq").round(3)"""),
    ("code", """plot_class_scores(per_class, categories=study.categories)"""),
    ("md", """How sure are these numbers, with 13 images? `agreement.stats` resamples the images
(with replacement), re-sums their counts and recomputes PQ with the same function: a bootstrap
interval per class. Rare classes (bicycle, rider) get wide intervals."""),
    ("code", """from agreement.metrics.pq import pq_statistic
from agreement.stats import CountTable, bootstrap

counts = CountTable.from_frame(result.per_image, fields=["tp", "fp", "fn", "iou_sum"],
                               groups=per_class["category_id"])
pq_ci = bootstrap(counts, pq_statistic("pq"), seed=0)
pq_ci.to_frame(index=per_class["name"]).sort_values("estimate").round(3)"""),
    ("md", """Classes low in that table are where the guideline is least clear. **SQ** (segmentation
quality: the mean IoU of matched segments) says how well matched segments overlap; **RQ**
(recognition quality) says how often a segment of one annotator has a partner in the other's
map at all. Low RQ with high SQ means *whether* (or how many) objects to draw is disputed, not
*where* their outline goes. Boundary IoU looks only at a band along the outlines, so it is more
sensitive to outline placement than the mask IoU behind SQ."""),
    ("md", """## Who agrees with whom

Rows are the reference annotator, columns the other one (PQ is not symmetric: void and crowd
regions of the reference are ignored)."""),
    ("code", """matrix = result.pq_matrix()
plot_annotator_matrix(matrix, title="PQ (row = reference)")"""),
    ("code", """result.annotator_agreement().round(3)"""),
    ("md", """## Pixel agreement

Krippendorff's alpha treats every pixel as a unit rated by the annotators; per class it is the
agreement on "this class vs the rest". Alpha corrects for chance agreement, so large, easy classes
do not look better than they are. `disagreement` is a second pass over the images that also
builds the heatmaps and ambiguous regions used below."""),
    ("code", """dis = disagreement(study)
dis.pixel.to_frame().round(3)"""),
    ("md", """## Where they disagree

Per pixel, the *semantic* heatmap is the share of annotators disagreeing with the majority class;
the *instance* heatmap does the same for object identity and the *boundary* heatmap counts
outlines passing nearby. The image with the most disputed pixels:"""),
    ("code", """worst = dis.per_image.sort_values("disputed", ascending=False).iloc[0]["image"]
maps = heatmaps(study.annotations(worst), study.categories, image=worst)
fig = Figure(figsize=(12, 3.2), layout="constrained")
for ax, name in zip(fig.subplots(1, 3), ["semantic", "instance", "boundary"]):
    plot_heatmap(getattr(maps, name), background=read_photo(PHOTOS, worst), ax=ax,
                 title=f"{worst}: {name}", colorbar=False)
fig"""),
    ("md", """Averaged over all images of the batch (each image's maps area-averaged onto one
256 x 512 grid), the same maps show the *systematic* trouble spots (here: the curb between road
and sidewalk, at the bottom of every image)."""),
    ("code", """mean = dis.aggregate
plot_heatmap(mean.semantic, title=f"mean semantic disagreement, {mean.images} images")"""),
    ("md", """## The worst ambiguous regions

Ambiguous *regions* are connected areas of disagreement, each described by the two classes
involved, what kind of disagreement it is and which annotators dissent. Per class pair:"""),
    ("code", """dis.class_pairs.head(8)"""),
    ("code", """columns = ["rank", "image", "kind", "class_pair", "annotators_b", "area", "severity"]
dis.regions[columns].head(6)"""),
    ("md", """What each annotator drew around the most severe region: one panel per annotator, their
labels in the class colours over the photo, the disputed pixels outlined in every panel, the
region's box dashed:"""),
    ("code", """region = dis.regions.iloc[0]
image = region["image"]
plot_region_panels(region, study.annotations(image), study.categories,
                   image=read_photo(PHOTOS, image))"""),
    ("md", """## What to take away

- the per-class PQ table says *which* classes the guideline should clarify;
- the annotator matrix says whether one annotator is an outlier (training) or everyone
  disagrees (guideline);
- the ambiguous regions say *what* the disagreement is about, with examples to put in the
  guideline.

Notebook 2 compares this batch with the next one, annotated after a guideline revision; notebook
3 turns all of this into the guideline-revision report."""),
]

NB02 = [
    ("md", """# 2. Did the guideline revision help? Comparing two batches

After the first batch (`data/sample/batch1`) the guideline was revised; the same four annotators
then labelled a second batch of *different* images (`data/sample/batch2`). Did agreement
improve, for which classes, and is the change larger than what the choice of images alone could
produce?

`agreement.compare` answers with numbers computed the same way as in notebook 1, plus:

- a **bootstrap interval** over images of each difference (batch 2 minus batch 1);
- a **permutation test** per class (images reshuffled between the batches: they hold different
  images, so the comparison is *unpaired*);
- a **Holm correction** across classes, so that testing 19 classes does not produce a false
  "improved" by chance."""),
    ("code", ROOT_CELL + """

import json

import agreement
from agreement import Batch, compare_batches
from agreement.compare.plots import plot_class_pairs, plot_differences"""),
    ("md", """## Reduce each batch to per-image counts

`Batch.from_study` evaluates the study once and keeps only per-image additive tables: PQ counts
per (image, annotator pair, class), pixel coincidence counts, and each annotator's counts against
the others. Everything below is recomputed from these small tables.

By default (and in `agreement compare`) each annotator is scored against the *consensus of the
other annotators*, a third pass over the images; `consensus=False` scores them against the
others pair by pair, which is quicker and is what this notebook uses."""),
    ("code", """before = Batch.from_study(agreement.load_study(SAMPLE / "batch1"), name="batch1",
                          consensus=False)
after = Batch.from_study(agreement.load_study(SAMPLE / "batch2"), name="batch2",
                         consensus=False)
before"""),
    ("code", """after"""),
    ("md", """## Compare

`seed` fixes every resample, so the numbers below are reproducible."""),
    ("code", """comparison = compare_batches(before, after, seed=0)
comparison"""),
    ("code", """print(comparison.summary())"""),
    ("md", """## Per class: before and after

Each class's PQ in both batches with its 95% bootstrap interval; a star marks a class whose change
survives the Holm correction."""),
    ("code", """comparison.plot_classes("pq")"""),
    ("code", """plot_differences(comparison, metric="pq")"""),
    ("md", """The full table holds every metric (PQ, SQ, RQ, boundary IoU, pixel alpha) per class;
`metric()` picks one. Road and sidewalk improved on every metric; no other class changed by
more than the choice of images explains."""),
    ("code", """comparison.metric("pq")[["a", "b", "difference", "ci_low", "ci_high", "p_value",
                          "p_adjusted", "change"]].round(3)"""),
    ("code", """columns = ["a", "b", "difference", "p_adjusted", "change"]
comparison.metric("alpha")[columns].round(3)"""),
    ("md", """## Annotators: who improved, who drifted

Each annotator's PQ against the others (mean over classes) in both batches. An annotator whose
agreement drops while the others' holds has drifted from the guideline."""),
    ("code", """comparison.annotators[["annotator", "a", "b", "rank_a", "rank_b", "difference",
                       "p_adjusted", "change"]].round(3)"""),
    ("code", """comparison.plot_annotators()"""),
    ("md", """Averaged over twelve classes, a change on two of them hardly moves an annotator's
score. Per annotator and class it shows: chen, who labelled the curb and a strip of sidewalk as
road under the old guideline, moved most on road."""),
    ("code", """ac = comparison.annotator_classes
road = ac[ac["category"].isin(["road", "sidewalk"])]
road[["annotator", "category", "a", "b", "difference", "p_adjusted", "change"]].round(3)"""),
    ("md", """## Confused class pairs: which shrank, which grew

The confusion rate of a class pair is the share of the two classes' pixel values that another
annotator gives the other class of the pair."""),
    ("code", """columns = ["name", "a", "b", "difference", "p_adjusted", "change"]
comparison.class_pairs[columns].round(4)"""),
    ("code", """plot_class_pairs(comparison)"""),
    ("md", """## Check against what was planted

The sample data were generated with known facts (`data/sample/planted.json`); the comparison
should find the road/sidewalk change, and nothing else."""),
    ("code", """planted = json.loads((SAMPLE / "planted.json").read_text())
print(planted["facts"]["c"])
pair = comparison.class_pairs.set_index("name").loc["road / sidewalk"]
print(f"road/sidewalk confusion, batch2 / batch1: {pair['b'] / pair['a']:.3f}")"""),
    ("md", """## Holm or Benjamini-Hochberg?

Holm controls the chance of *any* false "changed" flag, whatever the dependence between classes
(they are measured on the same images). Benjamini-Hochberg controls the expected share of false
flags among the flagged ones: more power, at the price of some false flags. Here it adds flags
beyond road and sidewalk, which the planted facts say did not change: the false discoveries it
accepts."""),
    ("code", """bh = compare_batches(before, after, correction="bh", seed=0)
holm_flags = set(comparison.changed()["category"] + " " + comparison.changed()["metric"])
bh_flags = set(bh.changed()["category"] + " " + bh.changed()["metric"])
sorted(bh_flags - holm_flags)"""),
    ("md", """## The same from the command line

```
agreement compare data/sample/batch1 data/sample/batch2 --json comparison.json --csv tables/
```"""),
]

NB03 = [
    ("md", """# 3. The guideline report, step by step

`agreement report data/sample/batch1 --out report/` writes a guideline-revision report in one
command: what the annotators disagree about, who draws what differently, and which guideline
rules to rewrite first. This notebook builds the same report piece by piece, to see where each
part comes from and to customise it:

1. one pass over the images: panoptic matching, pixel disagreement and the **findings**;
2. the **findings**: what is systematic, who does it, tested against the study's own noise;
3. **proposals** (one guideline rule per finding) and their **example crops**;
4. **class groups** (e.g. "flat" = road + sidewalk) and which annotator is the **reference**;
5. the **pictures**: heatmaps over the photos, over the frame, and side-by-side crops;
6. the full report, written to disk, with `findings.json` and its two browsers."""),
    ("code", ROOT_CELL + """

import json
import tempfile

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from agreement import analyse, build_report, write_report
from agreement.diagnosis import Options, with_examples
from agreement.image.disagreement import heatmaps
from agreement.io import open_study, read_photo
from agreement.plot_heatmaps import plot_frame_heatmap, plot_image_heatmap
from agreement.plot_regions import plot_region_panels
from agreement.report import propose, proposals_frame
from agreement.report.build import ReportOptions
from agreement.report.collect import class_table"""),
    ("md", """## 1. One pass

`open_study` also finds the photos (`data/sample/images/`) used for the example crops. `analyse`
decodes every map once and runs every part asked for on it: PQ, the disagreement (heatmaps,
ambiguous regions), and the findings, which share each annotator's consensus of the others with
the leave-one-out scores."""),
    ("code", """opened = open_study(SAMPLE / "batch1")
study = opened.study
res = analyse(study, parts=("pq", "disagreement", "findings"))
result, dis, found = res.pq, res.disagreement, res.findings
res"""),
    ("md", """The class table joins PQ / SQ / RQ / boundary IoU (from `result`), pixel alpha (from
`dis`) and the status of every segment (matched, missed, split, merged, ...)."""),
    ("code", """classes = class_table(result, dis, study)
columns = ["category", "pq", "sq", "rq", "boundary_iou", "alpha"]
classes[columns].sort_values("pq").round(3)"""),
    ("md", """## 2. The findings

Each annotator is compared, image by image, with the consensus of the others, for every kind of
systematic difference (class confusion, border offset, coarse outlines, extent, small objects
missed, merges, splits, unlabelled gaps, painting order) and every class. A difference becomes a
finding when it stands out from the other annotators judged over images (a permutation test,
every test of the study in one family) and is at least a minimum practical effect; a border that
everyone places somewhere else is a guideline finding naming nobody. Ranked by impact: the pixels
per image the difference puts out of agreement. See `docs/findings.md`."""),
    ("code", """print(found.summary())"""),
    ("code", """found.to_frame()[["rank", "kind", "categories", "annotators", "effect", "unit",
                  "ci_low", "ci_high", "images", "impact", "p_adjusted"]].round(3)"""),
    ("md", """Every test is kept, finding or not: here the road / sidewalk border, per annotator, and
the spread of all of them (the guideline test, `scope` = spread)."""),
    ("code", """tests = found.tests
tests[(tests["kind"] == "boundary_offset") & (tests["categories"] == "road / sidewalk")][
    ["annotator", "scope", "effect", "ci_low", "ci_high", "p_adjusted", "min_effect",
     "finding"]].round(3)"""),
    ("md", """A stricter lead (alpha 0.001) or one who cares about smaller confusions (5% of a class's
pixels instead of 10%) changes the options: the records of the images are the same, only the
statistics change."""),
    ("code", """from agreement.diagnosis import find

strict = find(study, options=Options(alpha=0.001))
lenient = find(study, options=Options(min_effect={"class_confusion": 0.05}))
pd.DataFrame({"default": [len(found)], "alpha 0.001": [len(strict)],
              "confusion >= 5%": [len(lenient)]}, index=["findings"])"""),
    ("md", """## 3. Proposals and their example crops

Each finding becomes one proposal whose rule fits its kind: where a border goes, what counts as
one object, the smallest object to draw... with what the study showed and whom to show it. The
example regions come from the disagreement's ambiguous regions: the finding's classes, its
annotator in the minority, its images first."""),
    ("code", """things = {c.name: c.isthing for c in study.categories.values()}
found = with_examples(found, dis.regions, things=study.categories.thing_ids)
proposals = propose(found, things=things)
proposals_frame(proposals)[["rank", "title", "kind", "annotators", "rule"]].head(8)"""),
    ("code", """first = found[0]
[(r["region"], r["image"], r["class_pair"], r["dissenters"]) for r in first.evidence["regions"]]"""),
    ("md", """## 4. Class groups and the reference annotator

**Class groups.** A lead responsible for "flat" surfaces or for "vehicles" wants one number per
group: the mean over the group's classes, as PQ Things / Stuff are means over classes."""),
    ("code", """groups = {"road": "flat", "sidewalk": "flat", "car": "vehicle", "truck": "vehicle",
          "bicycle": "vehicle", "person": "human", "rider": "human"}
grouped = classes.assign(group=classes["category"].map(groups).fillna("other"))
grouped.groupby("group")[["pq", "sq", "rq", "alpha"]].mean().round(3)"""),
    ("md", """**Reference annotator.** PQ is computed with one annotator as the reference: its void
and crowd regions are ignored. With a trusted annotator (here alice, the careful one) as the
reference, the others' scores read as accuracy against her; `symmetric=True` treats the two as
peers."""),
    ("code", """rows = {other: {"alice as reference": result.pq("alice", other).pq,
                "other as reference": result.pq(other, "alice").pq,
                "symmetric": result.pq("alice", other, symmetric=True).pq}
        for other in study.annotators if other != "alice"}
pd.DataFrame(rows).T.round(4)"""),
    ("md", """## 5. The pictures

The report's section *Where annotators disagree* starts with the images with most disagreement:
the share of annotators whose class or instance differs from the majority at each pixel, over
the photo (in grey, so the heat stands out)."""),
    ("code", """top = dis.per_image.assign(score=dis.per_image.semantic_mean + dis.per_image.instance_mean)
worst = top.sort_values("score", ascending=False)["image"].iloc[0]
maps = heatmaps(study.annotations(worst), study.categories, image=worst)
plot_image_heatmap(np.maximum(maps.semantic, maps.instance),
                   photo=read_photo(opened.images_dir, worst), title=worst)"""),
    ("md", """Then the whole study per position of the frame (the camera is fixed in driving data, so
trouble spots add up), and where in the frame the most disputed class pair lies. The pass
counts, for every pair of classes, the images in which each cell of a 128 x 256 grid over the
frame holds a pixel disputed between the two (`dis.pair_maps`: exact integer counts, for the 64
most disputed pairs); `share(a, b)` divides by the images."""),
    ("code", """mean = dis.aggregate
fig = Figure(figsize=(12, 3.4), layout="constrained")
left, right = fig.subplots(1, 2)
plot_frame_heatmap(mean.semantic, images=mean.images, title="mean class disagreement", ax=left)
top_pair = dis.class_pairs.iloc[0]
pair = top_pair["class_pair"]
where = dis.pair_maps.share(top_pair["category_a"], top_pair["category_b"])
plot_frame_heatmap(where, images=dis.pair_maps.images, title=f"where {pair} is disputed",
                   label="share of images", ax=right)
fig"""),
    ("md", """Every pair disputed anywhere is listed with its exact pixel and image counts, and whether
it has a map (a pair beyond the 64 most disputed so far has none; the report then draws it
from the boxes of its regions)."""),
    ("code", """dis.pair_maps.pairs.head(8)"""),
    ("md", """Every example crop of the report shows one panel per annotator: what each of them drew,
in the class colours, with the disputed pixels outlined in every panel. Here the most severe
road / sidewalk region: chen gives the kerbside strip to the road."""),
    ("code", """road_walk = dis.regions[dis.regions["class_pair"] == pair]
region = road_walk.iloc[0]
plot_region_panels(region, study.annotations(region["image"]), study.categories,
                   image=read_photo(opened.images_dir, region["image"]))"""),
    ("md", """## 6. The full report

`build_report` runs all of the above (plus leave-one-out scores, validation, bootstrap
intervals and the pictures) in one pass with the options chosen here, and `write_report` writes
`report.html` (self-contained), `report.md`, `findings.json` and one CSV per table. The
proposals, the annotator section, the summary (`--json`) and `findings.json` all read the same
findings."""),
    ("code", """options = ReportOptions(n_bootstrap=200, seed=0)
report = build_report(opened, options=options)
[section.title for section in report.sections]"""),
    ("code", """pd.DataFrame(report.summary["problems"])[["rank", "title", "annotators", "impact"]]"""),
    ("code", """with tempfile.TemporaryDirectory() as tmp:
    html = write_report(report, Path(tmp) / "report")
    written = sorted(p.name for p in html.parent.iterdir())
    doc = json.loads((html.parent / "findings.json").read_text())
written, [f["text"] for f in doc["findings"][:2]]"""),
    ("md", """The pictures in the report: heatmaps, and a picture of every example region (at most
`ReportOptions.max_pictures`, each embedded once in the page):"""),
    ("code", """pictures = report.section("regions").blocks[1]
heat = [f.name for f in report.section("heatmaps").figures]
heat, len(pictures.frame), len(report.figures)"""),
    ("md", """Open `report.html` in a browser (it works offline: everything is inside the file). The
findings are a filterable list (kind, class, annotator, image; a row shows its example crops),
and the section *Ambiguous regions* is a region browser: filter by class pair, kind, dissenting
annotator or image, sort, click a row to see what each annotator drew, and show or hide each
annotator.
Without JavaScript, or printed, the same page shows the table and every picture. The same from
the command line:

```
agreement report data/sample/batch1 --out report/
```"""),
]

NOTEBOOKS = {
    "01_explore_agreement.ipynb": NB01,
    "02_compare_batches.ipynb": NB02,
    "03_guideline_report.ipynb": NB03,
}


def build(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    """A notebook with deterministic cell ids and no outputs."""
    nb = new_notebook(metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    })
    for i, (kind, source) in enumerate(cells):
        cell = new_markdown_cell(source) if kind == "md" else new_code_cell(source)
        cell["id"] = f"cell-{i:02d}"
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1]
                        / "notebooks", help="output folder (default: notebooks/)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        (args.out / name).write_text(nbformat.writes(build(cells)) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
