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

import agreement
from agreement.study import evaluate"""),
    ("md", """## Load the study

A study folder holds one export per annotator; images are aligned by file name. Nothing is decoded
yet: maps are read lazily, image by image."""),
    ("code", """study = agreement.load_study(SAMPLE / "batch1")
study"""),
    ("md", """## Panoptic quality per class

`evaluate` makes one pass over the images: each image's maps are decoded once, every ordered
annotator pair is matched (same class, IoU > 0.5), and small additive counts (TP, FP, FN, IoU
sums, boundary sums) leave the image. PQ = SQ x RQ is computed from the sums at the end.

`class_agreement()` pools all annotator pairs: one row per class."""),
    ("code", """result = evaluate(study, seed=0)
per_class = result.class_agreement()
per_class.round(3)"""),
    ("md", """Classes low in that table are where the guideline is least clear. **SQ** (segmentation
quality: the mean IoU of matched segments) says how well matched segments overlap; **RQ**
(recognition quality) says how often a segment of one annotator has a partner in the other's
map at all. Low RQ with high SQ means *whether* to draw the object is disputed, not *where*."""),
    ("md", """## Who agrees with whom

Rows are the reference annotator, columns the other one (PQ is not symmetric: void and crowd
regions of the reference are ignored)."""),
    ("code", """result.pq_matrix().round(3)"""),
    ("code", """result.annotator_agreement().round(3)"""),
    ("md", """## Pixel agreement

Krippendorff's alpha treats every pixel as a unit rated by the annotators; per class it is the
agreement on "this class vs the rest". Alpha corrects for chance agreement, so large, easy classes
do not look better than they are."""),
    ("code", """from agreement.pixel_study import disagreement

dis = disagreement(study)
dis.pixel.to_frame().round(3)"""),
    ("md", """## Where they disagree

Heatmaps show, per pixel, the share of annotators disagreeing with the majority (semantic), the
instance disagreement and boundary uncertainty. Ambiguous *regions* are the connected areas of
disagreement, each described by the two classes involved and which annotators dissent."""),
    ("code", """dis.class_pairs.head(8)"""),
    ("code", """columns = ["rank", "image", "kind", "class_pair", "area", "severity"]
dis.regions[columns].head(8)"""),
    ("md", """## What to take away

- the per-class PQ table says *which* classes the guideline should clarify;
- the annotator matrix says whether one annotator is an outlier (training) or everyone
  disagrees (guideline);
- the ambiguous regions say *what* the disagreement is about, with examples to put in the
  guideline.

Notebook 2 compares this batch with the next one, annotated after a guideline revision."""),
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
from agreement.batch import Batch
from agreement.compare import compare_batches
from agreement.plot_compare import plot_class_pairs, plot_differences"""),
    ("md", """## Reduce each batch to per-image counts

`Batch.from_study` evaluates the study once and keeps only per-image additive tables: PQ counts
per (image, annotator pair, class), pixel coincidence counts, and each annotator's counts against
the others. Everything below is recomputed from these small tables."""),
    ("code", """before = Batch.from_study(agreement.load_study(SAMPLE / "batch1"), name="batch1")
after = Batch.from_study(agreement.load_study(SAMPLE / "batch2"), name="batch2")
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
`metric()` picks one."""),
    ("code", """comparison.metric("pq")[["a", "b", "difference", "ci_low", "ci_high", "p_value",
                          "p_adjusted", "change"]].round(3)"""),
    ("code", """columns = ["a", "b", "difference", "p_adjusted", "change"]
comparison.metric("alpha")[columns].round(3)"""),
    ("md", """## Annotators: who improved, who drifted

Each annotator's mean PQ against the other annotators in both batches. An annotator whose agreement
drops while the others' rises has drifted from the (new) guideline."""),
    ("code", """comparison.annotators[["annotator", "a", "b", "rank_a", "rank_b", "difference",
                       "p_adjusted", "change"]].round(3)"""),
    ("code", """comparison.plot_annotators()"""),
    ("md", """## Confused class pairs: which shrank, which grew

The confusion rate of a class pair is the share of the two classes' pixel values that another
annotator gives the other class of the pair."""),
    ("code", """columns = ["name", "a", "b", "difference", "p_adjusted", "change"]
comparison.class_pairs[columns].round(4)"""),
    ("code", """plot_class_pairs(comparison)"""),
    ("md", """## Check against what was planted

The sample data were generated with known changes (`data/sample/planted.json`): the comparison
should find them, and nothing else."""),
    ("code", """planted = json.loads((SAMPLE / "planted.json").read_text())
planted"""),
    ("md", """## Holm or Benjamini-Hochberg?

Holm controls the chance of *any* false "changed" flag, whatever the dependence between classes
(they are measured on the same images). Benjamini-Hochberg controls the expected share of false
flags among the flagged ones: more power when many classes are tested and a few false flags are
acceptable."""),
    ("code", """bh = compare_batches(before, after, correction="bh", seed=0)
sorted(bh.changed()["category"] + " " + bh.changed()["metric"])"""),
    ("md", """## The same from the command line

```
agreement compare data/sample/batch1 data/sample/batch2 --json comparison.json --csv tables/
```"""),
]

NB03 = [
    ("md", """# 3. The guideline report, step by step"""),
    ("code", ROOT_CELL),
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
