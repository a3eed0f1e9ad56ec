"""``agreement disagreement``: runs on a small study written to disk, prints, writes tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from test_pixel_study import CATS, make_study

from agreement import read_coco_panoptic, write_coco_panoptic
from agreement.cli import main


def test_cli_disagreement_writes_tables_and_consensus(tmp_path, capsys):
    study = make_study()
    for a in study.annotators:
        anns = [study.annotation(a, i) for i in study.images if a in study.annotators_of(i)]
        write_coco_panoptic(anns, CATS, tmp_path / "study" / a / "panoptic.json")
    code = main(["disagreement", str(tmp_path / "study"), "--top", "3", "--out",
                 str(tmp_path / "out"), "--consensus", str(tmp_path / "cons"), "--leave-one-out"])
    assert code == 0
    out = capsys.readouterr().out
    assert "Krippendorff's alpha" in out and "road <-> sidewalk" in out
    # lists of names as names (not "('sys',)"), no NaN on the kappa matrix's diagonal
    assert "('sys',)" not in out and "NaN" not in out
    kappa = out[out.index("Cohen's kappa"):out.index("Class pairs")].splitlines()
    assert kappa[1].split() == ["annotator", "ann1", "ann2", "ann3", "sys"]
    assert kappa[2].split()[:2] == ["ann1", "–"]
    pairs_text = out[out.index("Class pairs"):out.index("Annotators")].splitlines()
    assert pairs_text[2].split()[-6:] == ["1", "sys", "sys", "234.667", "class", "confusion"]
    pairs = pd.read_csv(tmp_path / "out" / "class_pairs.csv")
    assert pairs.class_pair[0] == "road <-> sidewalk" and pairs.top_dissenter[0] == "sys"
    loo = pd.read_csv(tmp_path / "out" / "leave_one_out.csv")
    assert loo.annotator[0] == "sys"
    for name in ("regions", "annotators", "per_class", "pixel_per_class", "pixel_pairs",
                 "pair_annotators"):
        assert (tmp_path / "out" / f"{name}.csv").is_file()
    cons = read_coco_panoptic(tmp_path / "cons" / "panoptic.json")
    assert sorted(i.file_name for i in cons.images) == ["img0.png", "img1.png", "img2.png"]
    counts = pd.read_csv(tmp_path / "cons" / "consensus_counts.csv")
    assert counts.tie_pixels.tolist() == [0, 0, 0]  # sys is outvoted everywhere
    assert counts.segments.tolist() == [3, 3, 2]  # road, sidewalk (+ car)
    assert sorted(p.name for p in (tmp_path / "cons" / "votes").iterdir()) == [
        "img0.png", "img1.png", "img2.png"]
    assert "consensus of 3 images written to" in out
    # the same export as `agreement consensus` (one code path)
    assert main(["consensus", str(tmp_path / "study"), "--out", str(tmp_path / "alone"),
                 "-q"]) == 0
    for f in sorted((tmp_path / "cons").rglob("*")):
        if f.is_file():
            twin = tmp_path / "alone" / f.relative_to(tmp_path / "cons")
            assert f.read_bytes() == twin.read_bytes(), f.name


def test_cli_disagreement_bad_study(tmp_path, capsys):
    assert main(["disagreement", str(tmp_path / "nope")]) == 2
    assert "study path must be a folder" in capsys.readouterr().err


def _written_study(tmp_path):
    study = make_study()
    for a in study.annotators:
        anns = [study.annotation(a, i) for i in study.images if a in study.annotators_of(i)]
        write_coco_panoptic(anns, CATS, tmp_path / "study" / a / "panoptic.json")
    return tmp_path / "study"


def test_cli_disagreement_figures_are_written_with_the_tables(tmp_path, capsys):
    import json

    from PIL import Image

    study = _written_study(tmp_path)
    out = tmp_path / "out"
    assert main(["disagreement", str(study), "--out", str(out), "--figures",
                 "--json", str(tmp_path / "d.json")]) == 0
    names = sorted(p.name for p in (out / "figures").iterdir())
    # the three images (all disputed), the frame mean, the two class pairs
    assert names == ["image-img0-png.png", "image-img1-png.png", "image-img2-png.png",
                     "mean.png", "pair-road-vs-sidewalk.png", "pair-road-vs-void.png"]
    for name in names:
        with Image.open(out / "figures" / name) as im:
            assert im.format == "PNG" and im.size[0] >= 400
    assert (out / "regions.csv").is_file()
    doc = json.loads((tmp_path / "d.json").read_text())
    assert sorted(doc["figures"]) == [f"figures/{n}" for n in names]
    assert doc["figures"][3:] == ["figures/mean.png", "figures/pair-road-vs-sidewalk.png",
                                  "figures/pair-road-vs-void.png"]  # images first, most severe
    assert "6 pictures written to" in capsys.readouterr().err


def test_cli_disagreement_figures_need_out(tmp_path, capsys):
    study = _written_study(tmp_path)
    assert main(["disagreement", str(study), "--figures"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["agreement disagreement: error: --figures needs --out DIR (the pictures are "
                   "written into DIR/figures/)"]


def test_cli_disagreement_figures_all_or_nothing(tmp_path, capsys, monkeypatch):
    """A picture that cannot be written: no table either, and a previous output is kept."""
    import agreement.report.figures as figures

    study = _written_study(tmp_path)
    out = tmp_path / "out"
    assert main(["disagreement", str(study), "--out", str(out), "-q"]) == 0
    before = sorted(p.name for p in out.iterdir())

    def broken(drawn, folder, **kw):
        (folder / "mean.png").write_bytes(b"half")
        raise OSError(28, "No space left on device", str(folder / "mean.png"))

    monkeypatch.setattr(figures, "write_figures", broken)
    assert main(["disagreement", str(study), "--out", str(out), "--figures", "-q"]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == before  # the previous tables, untouched
    assert not (out / "figures").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no leftover


def test_cli_disagreement_consensus_in_the_out_folder_itself_is_refused(tmp_path, capsys):
    study = _written_study(tmp_path)
    out = str(tmp_path / "out")
    assert main(["disagreement", str(study), "--out", out, "--consensus", out,
                 "-q"]) == 2
    assert "--consensus must be another folder than --out or one inside it" in \
        capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert main(["disagreement", str(study), "--out", out, "--consensus",
                 out + "/cons", "-q"]) == 0
    assert (tmp_path / "out" / "regions.csv").is_file()
    assert (tmp_path / "out" / "cons" / "panoptic.json").is_file()


def test_the_printed_tables_say_what_they_are(capsys):
    """The first line says how void enters the kappas and alpha and what their scale is; the
    last says what a region, its sides and its severity are."""
    sample = Path(__file__).resolve().parents[1] / "data" / "sample" / "batch1"
    if not sample.exists():
        pytest.skip("data/sample is not there")
    assert main(["disagreement", str(sample), "-q", "--top", "1", "--pixel-void", "label"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].endswith("pixels (void counted as a class; 1 = perfect agreement, 0 = "
                             "chance)")
    assert lines[-1].startswith("A region: connected pixels the annotators dispute")
    assert main(["disagreement", str(sample), "-q", "--top", "1"]) == 0
    assert "(void pixels left out, a missing value; " in capsys.readouterr().out
