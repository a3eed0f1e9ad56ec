"""Write a consensus study in one tool's format, with the per-pixel votes beside it.

The output folder (written all-or-nothing: into a temporary folder beside it, which then
replaces it)::

    OUT/
      panoptic.json + panoptic/*.png   (format "coco-panoptic")
      annotations.xml + cvat_labels.json          (format "cvat")
      tasks.json + labeling_config.xml            (format "label-studio")
      votes/<image stem>.png    one RGB PNG per image: R = annotators agreeing with the
                                consensus label, G = annotators who voted, B = 255 where the
                                pixel is void for lack of a majority
      categories.json           the category set (COCO list: ids, names, isthing, colors)
      study.json                a study file naming the export as annotator "consensus", so
                                that ``agreement validate OUT`` / ``load_study(OUT)`` read it
      consensus_counts.csv      per image: segments, void, no-majority pixels, mean agreement
      method.json, README.md    how the consensus was made and how to import it
      .agreement-consensus      marks the folder as ours (a later export may replace it)

Images are streamed: :func:`write_consensus` takes an iterable of ``(image, consensus
annotation, vote layer)`` and keeps nothing of an image after writing it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..errors import AgreementError, AnnotationError
from ..model import Categories, PanopticAnnotation, VoteLayer, image_key
from ._files import inside, write_png_rgb
from ._outdir import MARKER as OUTPUT_MARKER
from ._outdir import output_folder
from .coco_panoptic import write_coco_panoptic
from .cvat_write import cvat_labels, write_cvat
from .labelstudio_write import labeling_config, write_labelstudio

if TYPE_CHECKING:  # pandas is imported when the counts table is made (the CLI loads this
    import pandas as pd  # module for its format names: `agreement pq` needs no pandas)

__all__ = ["CONSENSUS_FORMATS", "ConsensusExport", "write_consensus"]

ConsensusFormat = Literal["coco-panoptic", "cvat", "label-studio"]
#: Output format -> (export file, reader format name for the study file).
CONSENSUS_FORMATS: dict[str, tuple[str, str]] = {
    "coco-panoptic": ("panoptic.json", "coco_panoptic"),
    "cvat": ("annotations.xml", "cvat"),
    "label-studio": ("tasks.json", "labelstudio"),
}
MARKER = ".agreement-consensus"
COUNT_COLUMNS = ("image", "segments", "void_pixels", "no_majority_pixels", "mean_agreement")

#: The method of :func:`agreement.consensus`, used when ``method`` gives none.
MAJORITY = ("Pixel majority with instance grouping: the consensus category of a pixel is the "
            "category most annotators gave it (void counts as a vote unless void='exclude'); a "
            "tie, or a winner with no more than min_share of the votes, leaves the pixel void. "
            "Segments of different annotators matched to each other (same category, IoU > 0.5) "
            "form one consensus instance; every stuff category is one segment.")


@dataclass(frozen=True)
class ConsensusExport:
    """What :func:`write_consensus` wrote.

    Attributes
    ----------
    out : Path
        The output folder.
    export : Path
        The export file inside it (``panoptic.json``, ``annotations.xml`` or ``tasks.json``).
    format : str
    counts : DataFrame
        One row per image: ``image``, ``segments``, ``void_pixels``, ``no_majority_pixels``,
        ``mean_agreement`` (mean share of voters agreeing with the consensus label, over the
        pixels with a consensus label; NaN when there is none), then the columns the items
        added (:func:`agreement.export_consensus` adds ``annotators``, ``tie_pixels``,
        ``weak_pixels``).
    """

    out: Path
    export: Path
    format: str
    counts: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """The per-image counts."""
        return self.counts


def _stream(items: Iterable[tuple[str, PanopticAnnotation, VoteLayer]], votes_dir: Path,
            rows: list[dict]) -> Iterator[PanopticAnnotation]:
    """Write each image's vote PNG and count row, then hand its annotation on."""
    seen: set[str] = set()
    for image, ann, votes, *more in items:
        name = ann.image.file_name
        if image_key(ann.image) != image.replace("\\", "/").rsplit("/", 1)[-1]:
            raise AnnotationError(f"consensus annotation must be of image {image!r}, got "
                                  f"{name!r}", image=image)
        if votes.shape != ann.shape:
            raise AnnotationError(f"vote layer must be {ann.shape[0]}x{ann.shape[1]} (height x "
                                  f"width) as the consensus map, got {votes.shape[0]}x"
                                  f"{votes.shape[1]}", image=image)
        png = Path(image_key(ann.image)).with_suffix(".png").name
        if png in seen:
            raise AnnotationError(f"image names must be unique, got {png!r} twice", image=image)
        seen.add(png)
        write_png_rgb(inside(votes_dir, png, file=votes_dir, image=image), votes.to_rgb())
        labelled = ann.ids > 0
        share = votes.support[labelled]
        rows.append({"image": image, "segments": len(ann.segments),
                     "void_pixels": int(labelled.size - np.count_nonzero(labelled)),
                     "no_majority_pixels": int(np.count_nonzero(votes.no_majority)),
                     "mean_agreement": float(share.mean()) if share.size else float("nan"),
                     **(dict(more[0]) if more else {})})
        yield ann


def _version() -> str:
    from .._version import __version__

    return __version__


def _readme(fmt: str, export: str, method: Mapping[str, Any], counts: pd.DataFrame) -> str:
    steps = {
        "coco-panoptic": [
            f"`{export}` and its PNG folder `panoptic/` are COCO panoptic (id = R + 256 G + "
            "256^2 B, 0 = void); any COCO panoptic tool reads them."],
        "cvat": [
            "In CVAT, create (or open) the task holding these images, with the labels of "
            "`cvat_labels.json` (task > Raw labels: paste it), same names.",
            f"Task > Actions > Upload annotations > format \"CVAT 1.1\" > `{export}`.",
            "CVAT matches images by name (then by frame number): the names in the XML are the "
            "task's; labels must exist in the task with these names.",
            "Uploading replaces the task's (or, from a job's menu, the job's) annotations: "
            "upload into a copy of the task or a job made for review to keep the annotators' "
            "work."],
        "label-studio": [
            "In Label Studio, create a project whose labeling config is `labeling_config.xml` "
            "(Settings > Labeling Interface > Code).",
            f"Import `{export}` (Import > Upload Files). Each task carries the consensus as one "
            "annotation of brush regions.",
            "The tasks' `data.image` must point at the images: the uploaded file when the "
            "study was read from a Label Studio export, else the image name (pass image_url).",
            "The tasks are new tasks: import them into a project made for review to keep one "
            "task per image."],
    }[fmt]
    lines = [
        "# Consensus export", "",
        f"{len(counts)} images, written by agreement {_version()} as {fmt} (`{export}`).", "",
        "## Method", "", str(method.get("description", MAJORITY)), ""]
    lines += [f"- {k}: {', '.join(map(str, v)) if isinstance(v, list | tuple) else v}"
              for k, v in method.items() if k != "description"]
    lines += ["", "## Votes", "",
              "`votes/<image>.png`, one RGB PNG per image: R = number of annotators whose "
              "label is the consensus label (void included when void is a vote), G = number of "
              "annotators who voted at the pixel, B = 255 where the consensus is void because "
              "no category won (a tie or a weak majority). R / G is the agreement share.", "",
              "## Import", ""]
    lines += [f"{i}. {s}" for i, s in enumerate(steps, 1)]
    lines += ["", "`study.json` names the export as annotator `consensus`: "
              "`agreement validate` reads this folder as a study.", ""]
    return "\n".join(lines)


def write_consensus(
    items: Iterable[tuple[str, PanopticAnnotation, VoteLayer]],
    categories: Categories,
    out: str | os.PathLike[str],
    *,
    format: ConsensusFormat = "coco-panoptic",
    method: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
) -> ConsensusExport:
    """Write a consensus study: the export, a vote PNG per image, and what describes them.

    Parameters
    ----------
    items : iterable of (str, PanopticAnnotation, VoteLayer[, mapping])
        ``(image, consensus annotation, vote layer)`` per image, consumed one at a time (e.g.
        from a generator over the study). ``image`` is the study's image name; the
        annotation's file name must have the same base name. An optional fourth element adds
        columns to the image's row of counts (``{"tie_pixels": 3}``).
    categories : Categories
    out
        The output folder; absent, empty, or a previous consensus export (replaced).
    format : {"coco-panoptic", "cvat", "label-studio"}
    method : mapping, optional
        How the consensus was made (``description`` and parameters such as ``min_share``,
        ``void``, ``annotators``): written to ``method.json`` and the README.
    options : mapping, optional
        Passed to the format's writer (:func:`~agreement.io.write_cvat`'s ``names``,
        ``task_name``; :func:`~agreement.io.write_labelstudio`'s ``image_url``, ``from_name``,
        ``as_predictions``, ...).

    Returns
    -------
    ConsensusExport

    Raises
    ------
    AgreementError
        ``out`` holds files that are not a previous consensus export (nothing is touched).
    AnnotationError
        A vote layer of another size than its map, an annotation of another image than named,
        two images with one name, and every refusal of the format's writer. The previous
        folder, if any, is left as it was.

    Examples
    --------
    >>> import tempfile
    >>> from agreement.model import Category
    >>> from agreement import consensus
    >>> from agreement.image.voting import vote_layer
    >>> cats = Categories([Category(1, "road", False)])
    >>> anns = {a: PanopticAnnotation.from_map(m, {1: 1}, file_name="x.png")
    ...         for a, m in {"a": [[1, 1]], "b": [[1, 0]], "c": [[1, 0]]}.items()}
    >>> cons = consensus(anns, cats).annotation
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     res = write_consensus([("x.png", cons, vote_layer(anns, cons, cats))], cats,
    ...                           Path(tmp) / "out", format="cvat")
    ...     written = sorted(p.name for p in res.out.iterdir())
    >>> written
    ['.agreement-consensus', 'README.md', 'annotations.xml', 'categories.json', \
'consensus_counts.csv', 'cvat_labels.json', 'method.json', 'study.json', 'votes']
    >>> res.counts[["segments", "void_pixels", "mean_agreement"]].values.tolist()
    [[1.0, 1.0, 1.0]]
    """
    if format not in CONSENSUS_FORMATS:
        raise AgreementError(f"format must be one of {sorted(CONSENSUS_FORMATS)}, got "
                             f"{format!r}")
    out = Path(out)
    method = dict(method or {})
    export_name, reader = CONSENSUS_FORMATS[format]
    with output_folder(out, marker=MARKER, marker_text=f"agreement {_version()}\n",
                       markers=(MARKER, OUTPUT_MARKER), previous="a previous consensus") as tmp:
        rows: list[dict] = []
        anns = _stream(items, tmp / "votes", rows)
        (tmp / "votes").mkdir()
        export = tmp / export_name
        if format == "coco-panoptic":
            write_coco_panoptic(anns, categories, export, **dict(options or {}))
        elif format == "cvat":
            write_cvat(anns, categories, export, **{"source": "consensus", "task_name":
                                                    "consensus", **dict(options or {})})
            _write_json(tmp / "cvat_labels.json", cvat_labels(categories))
        else:
            write_labelstudio(anns, categories, export, **dict(options or {}))
            labels = {k: v for k, v in (options or {}).items()
                      if k in ("from_name", "to_name", "data_key")}
            (tmp / "labeling_config.xml").write_text(labeling_config(categories, **labels) +
                                                     "\n", encoding="utf-8")
        extra = [k for k in dict.fromkeys(k for r in rows for k in r) if k not in COUNT_COLUMNS]
        import pandas as pd

        counts = pd.DataFrame(rows, columns=[*COUNT_COLUMNS, *extra])
        counts.to_csv(tmp / "consensus_counts.csv", index=False, lineterminator="\n")
        _write_json(tmp / "categories.json", categories.to_coco())
        _write_json(tmp / "study.json", {
            "name": "consensus", "categories": "categories.json",
            "annotators": {"consensus": {"path": export_name, "format": reader}}})
        _write_json(tmp / "method.json", {
            "method": {"description": MAJORITY, **method}, "format": format,
            "export": export_name, "images": len(counts),
            "votes": {"folder": "votes", "R": "annotators agreeing with the consensus label",
                      "G": "annotators who voted", "B": "255 where void for lack of a majority"},
            "agreement_version": _version()})
        readme = _readme(format, export_name, method, counts)  # names not UTF-8 as \xNN
        (tmp / "README.md").write_text(readme.encode("utf-8", "surrogateescape").decode(
            "utf-8", "backslashreplace"), encoding="utf-8")
    return ConsensusExport(out, out / export_name, format, counts)


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
