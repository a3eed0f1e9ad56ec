"""``agreement disagreement``: runs on a small study written to disk, prints, writes tables."""

from __future__ import annotations

import pandas as pd
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


def test_cli_disagreement_consensus_in_the_out_folder_itself_is_refused(tmp_path, capsys):
    study = make_study()
    for a in study.annotators:
        anns = [study.annotation(a, i) for i in study.images if a in study.annotators_of(i)]
        write_coco_panoptic(anns, CATS, tmp_path / "study" / a / "panoptic.json")
    out = str(tmp_path / "out")
    assert main(["disagreement", str(tmp_path / "study"), "--out", out, "--consensus", out,
                 "-q"]) == 2
    assert "--consensus must be another folder than --out or one inside it" in \
        capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert main(["disagreement", str(tmp_path / "study"), "--out", out, "--consensus",
                 out + "/cons", "-q"]) == 0
    assert (tmp_path / "out" / "regions.csv").is_file()
    assert (tmp_path / "out" / "cons" / "panoptic.json").is_file()
