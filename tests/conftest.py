"""Shared fixtures: tiny hand-made COCO panoptic exports written without the package's writer."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from agreement import _native

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SAMPLE = ROOT / "data" / "sample"

CATEGORIES = [
    {"id": 1, "name": "car", "isthing": 1, "color": [0, 0, 142]},
    {"id": 7, "name": "road", "isthing": 0, "color": [128, 64, 128]},
    {"id": 9, "name": "sky", "isthing": 0},
]

# 4 x 6 map: road (7) at the bottom, sky (9) on top, two cars (id 1001 and 1002), one void pixel.
TINY = np.array(
    [
        [9, 9, 9, 9, 9, 0],
        [9, 1001, 1001, 9, 1002, 9],
        [7, 1001, 1001, 7, 1002, 7],
        [7, 7, 7, 7, 7, 7],
    ],
    dtype=np.int32,
)
TINY_TABLE = [
    {"id": 9, "category_id": 9, "iscrowd": 0, "area": 8, "bbox": [0, 0, 6, 2]},
    {"id": 1001, "category_id": 1, "iscrowd": 0, "area": 4, "bbox": [1, 1, 2, 2]},
    {"id": 1002, "category_id": 1, "iscrowd": 0, "area": 2, "bbox": [4, 1, 1, 2]},
    {"id": 7, "category_id": 7, "iscrowd": 0, "area": 9, "bbox": [0, 2, 6, 2]},
]


#: The compiled kernels (None without them); tests comparing both paths skip without.
COMPILED = _native.kernels
needs_compiled = pytest.mark.skipif(COMPILED is None, reason="compiled kernels not built")


def both(fn, *args, **kwargs):
    """``fn`` with the compiled kernels and with the numpy fallback."""
    out = []
    for kern in (COMPILED, None):
        saved, _native.kernels = _native.kernels, kern
        try:
            out.append(fn(*args, **kwargs))
        finally:
            _native.kernels = saved
    return out


def ids_to_png(ids: np.ndarray, path: Path, mode: str = "RGB") -> None:
    """Write an id map as a COCO panoptic PNG, by hand (R + 256 G + 256^2 B)."""
    ids = np.asarray(ids, dtype=np.uint32)
    rgb = np.stack([ids & 255, (ids >> 8) & 255, (ids >> 16) & 255], axis=-1).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb, mode="RGB").convert(mode).save(path)


def write_export(
    folder: Path,
    images: dict[str, tuple[np.ndarray, list[dict]]],
    *,
    categories: list[dict] | None = None,
    first_id: int = 1,
    name: str = "panoptic",
) -> Path:
    """Write ``{file_name: (id map, segments_info)}`` as ``<name>.json`` + ``<name>/`` in folder."""
    folder.mkdir(parents=True, exist_ok=True)
    doc: dict = {
        "info": {},
        "licenses": [],
        "images": [],
        "annotations": [],
        "categories": categories if categories is not None else CATEGORIES,
    }
    for n, (file_name, (ids, table)) in enumerate(images.items(), start=first_id):
        png = Path(file_name).with_suffix(".png").name
        ids_to_png(ids, folder / name / png)
        doc["images"].append(
            {
                "id": n,
                "file_name": file_name,
                "height": int(ids.shape[0]),
                "width": int(ids.shape[1]),
            }
        )
        doc["annotations"].append({"image_id": n, "file_name": png, "segments_info": table})
    path = folder / f"{name}.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture
def tiny_json(tmp_path: Path) -> Path:
    """One annotator, one image (``a.jpg``): the TINY map."""
    return write_export(tmp_path / "ann", {"a.jpg": (TINY, [dict(s) for s in TINY_TABLE])})


def tree_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (to prove inputs are never modified)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def sample_report(tmp_path_factory):
    """The sample study's report, built and written once per session (shared by the report
    tests and the browser tests): ``(opened study, Report, output folder, report.html text)``."""
    from agreement.io import open_study
    from agreement.report import write_report
    from agreement.report.build import ReportOptions, build_report

    opened = open_study(SAMPLE / "batch1")
    report = build_report(
        opened, options=ReportOptions(n_jobs=2, n_bootstrap=200, max_pairs=2)
    )
    out = tmp_path_factory.mktemp("report") / "out"
    html = write_report(report, out)
    return opened, report, out, html.read_text("utf-8")


@pytest.fixture(scope="session")
def dask_client():
    """A local Dask cluster (two worker processes, one thread each) and a client, for the whole
    test session; skipped without the ``distributed`` extra. Its HTTP server takes a free port
    (with ``dashboard_address=None`` it still asks for 8787 and warns when another cluster on
    the machine holds it)."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address="127.0.0.1:0", host="127.0.0.1")
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()
