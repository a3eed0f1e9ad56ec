"""``agreement compare`` on two tiny studies written to disk."""

import json

import numpy as np
import pandas as pd

from agreement import write_coco_panoptic
from agreement.cli import main
from agreement.model import Categories, Category, PanopticAnnotation

CATS = Categories([Category(1, "road", isthing=False), Category(2, "sidewalk", isthing=False),
                   Category(3, "car", isthing=True)])


def _scene(rng, shift):
    """Road below a border row, sidewalk above, one car; ``shift`` moves the border."""
    ids = np.full((24, 32), 1, np.int32)
    border = 12 + shift
    ids[:border] = 2
    y, x = rng.integers(2, 8), rng.integers(2, 20)
    ids[y:y + 6, x:x + 8] = 3001
    return ids


def _write_study(root, *, spread, seed):
    rng = np.random.default_rng(seed)
    for a, name in enumerate(("ann", "bob", "cat")):
        anns = []
        for i in range(5):
            scene_rng = np.random.default_rng(seed * 100 + i)
            ids = _scene(scene_rng, shift=int(rng.integers(-spread, spread + 1)) if a else 0)
            anns.append(PanopticAnnotation.from_map(ids, {1: 1, 2: 2, 3001: 3},
                                                    file_name=f"s{seed}_{i}.png", image_id=i))
        folder = root / name
        folder.mkdir(parents=True)
        write_coco_panoptic(anns, CATS, folder / "panoptic.json")
    return root


def test_cli_compare_writes_json_and_csv(tmp_path, capsys):
    a = _write_study(tmp_path / "a", spread=6, seed=1)
    b = _write_study(tmp_path / "b", spread=0, seed=2)
    out, tables = tmp_path / "cmp.json", tmp_path / "tables"
    code = main(["compare", str(a), str(b), "--json", str(out), "--csv", str(tables),
                 "--n-boot", "200", "--n-permutations", "200", "-q", "--pairwise"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "b vs a: 5 vs 5 images (unpaired)" in printed
    # the table's header says what its interval and p-values are
    assert ("PQ per class (a = a, b = b; difference = b - a, ci_low / ci_high its 95% "
            "percentile bootstrap interval; p_adjusted: holm, significant below 0.05)\n") in printed
    assert "unchanged" not in printed
    data = json.loads(out.read_text())
    assert data["a"] == "a" and data["b"] == "b" and data["paired"] is False
    assert data["settings"]["n_boot"] == 200 and data["settings"]["agreement"] == "pairwise"
    classes = pd.read_csv(tables / "classes.csv")
    road = classes[(classes.category == "road") & (classes.metric == "alpha")].iloc[0]
    assert road["b"] == 1.0 and road["a"] < 1.0  # batch b agrees perfectly on the border
    assert {"annotators.csv", "class_pairs.csv"} <= {p.name for p in tables.iterdir()}


def test_cli_compare_json_on_stdout(tmp_path, capsys):
    a = _write_study(tmp_path / "a", spread=2, seed=1)
    code = main(["compare", str(a), str(a), "--json", "--n-boot", "50", "--n-permutations",
                 "50", "--no-pixel", "--pairwise"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["paired"] is True
    assert not any(r["significant"] for r in data["classes"])


def test_cli_compare_missing_batch(tmp_path, capsys):
    code = main(["compare", str(tmp_path / "nope"), str(tmp_path / "nope2"), "-q"])
    assert code == 2
    assert capsys.readouterr().err.startswith("agreement compare: error:")


def test_cli_compare_paired_without_shared_images(tmp_path, capsys):
    a = _write_study(tmp_path / "a", spread=1, seed=1)
    b = _write_study(tmp_path / "b", spread=1, seed=2)
    code = main(["compare", str(a), str(b), "--paired", "--no-pixel", "--pairwise", "-q"])
    assert code == 2
    assert "share none" in capsys.readouterr().err


def test_cli_compare_notes_the_same_study_and_few_images(tmp_path, capsys):
    """Both batches one folder: a note says every difference is 0 by construction; 5 images:
    a note says the resampled intervals are rough. Neither with -q."""
    a = _write_study(tmp_path / "a", spread=6, seed=1)
    args = ["compare", str(a), str(tmp_path / "a" / ".." / "a"), "--n-boot", "50",
            "--n-permutations", "50", "--pairwise"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "note: both batches are the same study: every difference is 0 by construction" in err
    assert "note: a batch of 5 images: the intervals and tests resample images, and over " \
        "fewer than 10 they are rough" in err
    assert main([*args, "-q"]) == 0
    assert "note:" not in capsys.readouterr().err
