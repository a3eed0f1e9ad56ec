"""Studies of three annotators made from the real CVAT and Label Studio exports of the fixtures
(tests/data/fixtures/cross_tool_cats_MaxKuklaVod: one CVAT job export and one Label Studio
export of the same 14 photos, boxes only).

The tools' own references are kept as the tools wrote them (CVAT: the job meta, image names,
frame numbers; Label Studio: task ids, annotation ids, ``completed_by``, the uploaded image
paths); only the geometry is made into areas: each "Cat" box becomes a polygon (the "Cats" group
boxes are left out), images are scaled down ``scale`` times so that a pass is fast, and the
second and third annotators differ from the first (a shifted border, a confused class), so that
the study has regions to review:

- CVAT: ``a.xml`` is the fixture's job 1; ``b.xml`` and ``c.xml`` are jobs 2 and 3 of the same
  frames (as CVAT's consensus replicas, one job per annotator);
- Label Studio: one export, each task annotated by users 1 (the fixture's annotation, its id
  kept), 2 and 3 (annotation ids ``100 + id`` and ``200 + id``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

FIX = Path(__file__).parent / "data" / "fixtures" / "cross_tool_cats_MaxKuklaVod"
CVAT_XML = FIX / "cvat_job_export" / "annotations.xml"
LS_JSON = FIX / "label_studio_export" / "project-1-at-2025-06-19-14-54-b0c66fa7.json"

_IMAGE = re.compile(r'<image id="(\d+)" name="([^"]+)" width="(\d+)" height="(\d+)">')
_BOX = re.compile(r'<box label="([^"]+)" source="manual" occluded="0" xtl="([\d.]+)" '
                  r'ytl="([\d.]+)" xbr="([\d.]+)" ybr="([\d.]+)" z_order="0">\s*</box>')


def _cvat_job(text: str, who: int, scale: int) -> str:
    """The fixture's job export as annotator ``who`` (0, 1, 2) would have made it."""
    job = who + 1
    text = text.replace("<id>1</id>\n      <size>", f"<id>{job}</id>\n      <size>", 1)
    text = text.replace("/api/jobs/1</url>", f"/api/jobs/{job}</url>")
    text = text.replace("<assignee></assignee>",
                        f"<assignee><username>annotator{job}</username></assignee>", 1)
    sizes: dict[str, tuple[int, int]] = {}

    def image(m: re.Match) -> str:
        w, h = int(m[3]) // scale, int(m[4]) // scale
        sizes["current"] = (w, h)
        return f'<image id="{m[1]}" name="{m[2]}" width="{w}" height="{h}">'

    first = {"done": False}

    def box(m: re.Match) -> str:
        if m[1] != "Cat":
            return ""
        w, h = sizes["current"]
        x0, y0, x1, y1 = (float(v) / scale for v in m.group(2, 3, 4, 5))
        label = m[1]
        if who == 1:  # draws the left border further right
            x0 = min(x0 + 0.08 * (x1 - x0), x1)
        if who == 2 and not first["done"]:  # calls the first cat of each image a group
            label = "Cats"
        first["done"] = True
        pts = ";".join(f"{min(x, w):.2f},{min(y, h):.2f}"
                       for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1)))
        return (f'<polygon label="{label}" source="manual" occluded="0" points="{pts}" '
                f'z_order="0">\n    </polygon>')

    out = []
    for chunk in re.split(r"(?=<image )", text):
        first["done"] = False
        chunk = _IMAGE.sub(image, chunk)
        out.append(_BOX.sub(box, chunk) if chunk.startswith("<image ") else chunk)
    return "".join(out)


def cvat_study(root: Path, *, scale: int = 40) -> Path:
    """``root/a.xml``, ``b.xml``, ``c.xml``: three CVAT job exports of the fixture's frames."""
    root.mkdir(parents=True, exist_ok=True)
    text = CVAT_XML.read_text(encoding="utf-8")
    for who, name in enumerate("abc"):
        (root / f"{name}.xml").write_text(_cvat_job(text, who, scale), encoding="utf-8")
    return root


def _ls_result(r: dict, who: int, first: bool, scale: int) -> dict | None:
    v = r["value"]
    if v["rectanglelabels"] != ["Cat"]:
        return None
    x, y, w, h = v["x"], v["y"], v["width"], v["height"]
    if who == 1:
        x, w = x + 0.08 * w, 0.92 * w
    label = "Cats" if who == 2 and first else "Cat"
    return {"original_width": r["original_width"] // scale,
            "original_height": r["original_height"] // scale, "image_rotation": 0,
            "value": {"points": [[x, y], [x + w, y], [x + w, y + h], [x, y + h]],
                      "closed": True, "polygonlabels": [label]},
            "id": f"{r['id']}-{who}", "from_name": "label", "to_name": "image",
            "type": "polygonlabels", "origin": "manual"}


def labelstudio_study(root: Path, *, scale: int = 40) -> Path:
    """``root/project.json``: the fixture's tasks, each annotated by users 1, 2 and 3."""
    root.mkdir(parents=True, exist_ok=True)
    tasks = json.loads(LS_JSON.read_text(encoding="utf-8"))
    for task in tasks:
        (ann,) = task["annotations"]
        anns = []
        for who in range(3):
            results = [_ls_result(r, who, k == 0, scale) for k, r in enumerate(ann["result"])]
            anns.append({**ann, "id": ann["id"] + 100 * who, "completed_by": who + 1,
                         "result": [r for r in results if r is not None]})
        task["annotations"] = anns
    (root / "project.json").write_text(json.dumps(tasks), encoding="utf-8")
    return root
