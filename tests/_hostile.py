"""Builders of small valid exports of every format, for the hostile-input tests and the fuzz suite.

Each builder returns a document (dict / list / XML text) that the reader accepts; tests then
break one field. ``write`` puts a document where its reader expects it and ``READ`` maps a
format to a function that reads the written export *and decodes every image*, so lazy decoding
(PNG, RLE, brush, bitmask) is exercised too.
"""

from __future__ import annotations

import base64
import io
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from agreement.io import (
    read_bsds,
    read_coco_instances,
    read_coco_panoptic,
    read_cvat_sources,
    read_label_maps,
    read_labelstudio_sources,
)

FIXTURES = Path(__file__).parent / "data" / "fixtures"


def coco_instances(**over: Any) -> dict:
    """10 x 10 image, one polygon, one uncompressed RLE (the right half), one compressed RLE."""
    doc = {
        "images": [{"id": 1, "file_name": "a.png", "height": 10, "width": 10}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0,
             "segmentation": [[1, 1, 8, 1, 8, 8, 1, 8]]},
            {"id": 2, "image_id": 1, "category_id": 2, "iscrowd": 1,
             "segmentation": {"size": [10, 10], "counts": [50, 50]}},
            {"id": 3, "image_id": 1, "category_id": 1, "iscrowd": 0,
             "segmentation": {"size": [10, 10], "counts": "n1370008"}},  # 3 x 3 at (6, 2)
        ],
        "categories": [{"id": 1, "name": "car"}, {"id": 2, "name": "road", "isthing": 0}],
    }
    doc.update(over)
    return doc


def with_segmentation(seg: Any, **image: Any) -> dict:
    """A COCO instances document with one annotation whose segmentation is ``seg``."""
    info = {"id": 1, "file_name": "a.png", "height": 10, "width": 10, **image}
    return coco_instances(images=[info], annotations=[
        {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "segmentation": seg}])


def labelstudio(result: list | None = None, *, width: Any = 10, height: Any = 10) -> list:
    """One task, one annotator (user 1), a polygon region (percent points)."""
    if result is None:
        result = [{"id": "r1", "type": "polygonlabels", "original_width": width,
                   "original_height": height,
                   "value": {"points": [[10, 10], [80, 10], [80, 80]],
                             "polygonlabels": ["car"]}}]
    return [{"id": 1, "data": {"image": "/data/upload/1/abcdef12-a.png"},
             "annotations": [{"id": 1, "completed_by": 1, "result": result}]}]


def png_bytes(array: np.ndarray, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buf, format="PNG")
    return buf.getvalue()


def bitmask_result(png: bytes, size: int = 10) -> dict:
    return {"id": "b", "type": "bitmasklabels", "original_width": size, "original_height": size,
            "value": {"imageDataURL": "data:image/png;base64," + base64.b64encode(png).decode(),
                      "bitmasklabels": ["car"]}}


def cvat_mask(rle: str = "10,4,2", *, left: Any = 1, top: Any = 1, width: Any = 4,
              height: Any = 4, image: tuple[Any, Any] = (10, 10), points: str | None = None,
              declaration: str = '<?xml version="1.0" encoding="utf-8"?>') -> str:
    """A CVAT job export: one 10 x 10 image with a mask (and optionally a polygon)."""
    poly = (f'<polygon label="car" source="manual" occluded="0" points="{points}" '
            'z_order="1"></polygon>' if points is not None else "")
    return (f'{declaration}\n<annotations><version>1.1</version><meta><job><labels><label>'
            '<name>car</name></label></labels></job></meta>'
            f'<image id="0" name="a.png" width="{image[0]}" height="{image[1]}">'
            f'<mask label="car" source="manual" occluded="0" rle="{rle}" left="{left}" '
            f'top="{top}" width="{width}" height="{height}" z_order="0"></mask>{poly}</image>'
            '</annotations>')


def png_claiming(width: int, height: int, color_type: int = 0) -> bytes:
    """A PNG whose header declares ``width x height`` pixels, with a tiny compressed body."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))


def panoptic(tmp: Path) -> Path:
    """Datumaro's tiny COCO panoptic export (5 x 10, a crowd segment), copied into ``tmp``."""
    src = FIXTURES / "coco_panoptic_and_instances/datumaro/coco_panoptic/annotations"
    (tmp / "pan").mkdir(parents=True, exist_ok=True)
    (tmp / "pan" / "b.png").write_bytes((src / "panoptic_val" / "b.png").read_bytes())
    path = tmp / "pan.json"
    path.write_text((src / "panoptic_val.json").read_text())
    return path


def write(tmp: Path, fmt: str, doc: Any, name: str = "export") -> Path:
    """Write ``doc`` as format ``fmt`` under ``tmp``; return what the reader takes."""
    tmp.mkdir(parents=True, exist_ok=True)
    if fmt == "cvat":
        path = tmp / f"{name}.xml"
        path.write_bytes(doc if isinstance(doc, bytes) else doc.encode("utf-8", "surrogatepass"))
        return path
    path = tmp / f"{name}.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8",
                    errors="surrogatepass")
    return path


def read_all(fmt: str, path: Path) -> int:
    """Read an export of ``fmt`` and decode every image of every annotator; the pixel count."""
    if fmt == "coco_instances":
        sources = {"a": read_coco_instances(path)}
    elif fmt == "coco_panoptic":
        sources = {"a": read_coco_panoptic(path)}
    elif fmt == "cvat":
        sources = read_cvat_sources(path)
    elif fmt == "labelstudio":
        sources = read_labelstudio_sources(path)
    elif fmt == "label_maps":
        sources = {"a": read_label_maps(path)}
    elif fmt == "bsds":
        sources = read_bsds(path)
    else:
        raise ValueError(fmt)
    total = 0
    for src in sources.values():
        for info in src.images:
            total += int(src.load(info.file_name).ids.size)
    return total
