"""Generate ``data/sample/``: a simulated multi-annotator panoptic study of street scenes.

Usage::

    python scripts/make_sample.py --out data/sample [--limit N] [--no-check]

Deterministic: the same command writes the same bytes. Every image has a hidden true scene made of
polygons (``agreement/simulation/_scene.py``); four annotators re-draw it with their own habits
(``_sample_annotate.py``: simplification, jitter, curb border, class swaps, merges, splits,
misses, gaps, painting order) and each annotator's maps are written as one COCO panoptic export.
Batch 1 follows guideline v1 (the curb rule is ambiguous); batch 2, on other images, follows v2
(the curb belongs to the sidewalk). ``planted.json`` lists what was planted and what the
generator's own check measured; ``README.md`` describes it for people.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _sample_annotate import (
    PROFILES,
    Profile,
    draw_scene,
    rasterize,
    to_panoptic,
    true_drawing,
)
from _sample_photo import photo

from agreement.io import write_coco_panoptic
from agreement.model import Categories, PanopticAnnotation
from agreement.simulation._scene import CATEGORIES, H, W, make_scene

SEED = 20_261_125
BATCHES = (
    # name, guideline, image numbers, (image, annotator) pairs left out
    ("batch1", "v1", range(1, 14), {("street_013.jpg", "dana")}),
    ("batch2", "v2", range(101, 114), set()),
)


def _image_result(
    batch_no: int, idx: int, name: str, guideline: str, missing: set, out: Path
) -> tuple[dict, dict, dict]:
    """Simulate one image: the truth, the photo and every annotator's annotation."""
    scene = make_scene(np.random.default_rng([SEED, batch_no, idx]))
    truth = true_drawing(scene)
    t_ids, t_cats, t_segs = to_panoptic(truth)
    layer_of_seg = {s: layer for layer, sids in t_segs.items() for s in sids}
    areas = np.bincount(np.searchsorted(sorted(t_cats), t_ids[t_ids > 0]), minlength=len(t_cats))
    area_of_seg = dict(zip(sorted(t_cats), areas.tolist(), strict=True))
    true_area = {layer: sum(area_of_seg[s] for s in sids) for layer, sids in t_segs.items()}
    img = photo(scene, t_ids, layer_of_seg, np.random.default_rng([SEED, batch_no, idx, 99]))
    (out / "images").mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(out / "images" / name, format="JPEG", quality=88)
    anns = {"truth": PanopticAnnotation.from_map(t_ids, t_cats, file_name=name, image_id=idx)}
    record: dict = {"instances": {}, "events": [], "curb": {}}
    drawn: dict[str, dict] = {}
    for a_no, prof in enumerate(PROFILES):
        if (name, prof.name) in missing:
            continue
        rng = np.random.default_rng([SEED, batch_no, idx, 100 + a_no])
        dr = draw_scene(scene, prof, guideline, true_area, rng)
        ids, cats, segs = to_panoptic(
            dr,
            split_occluded=prof.split_occluded,
            gaps=prof.gaps,
            skip_far=bool(rng.random() < prof.skip_far),
            scene=scene,
            rng=rng,
        )
        image_id = idx + (500 if prof.name == "dana" else 0)  # dana's tool numbers differently
        anns[prof.name] = PanopticAnnotation.from_map(ids, cats, file_name=name, image_id=image_id)
        drawn[prof.name] = {"drawing": dr, "segments": segs, "categories": cats}
        record["curb"][prof.name] = dr.events[0]["offset_px"]
    for layer in scene.layers:
        if not layer.is_thing or true_area.get(layer.key, 0) == 0:
            continue
        entry = {
            "category": layer.category,
            "true_area": true_area[layer.key],
            "true_segment_id": t_segs[layer.key][0],
            "annotators": {},
        }
        for a, d in drawn.items():
            objs = sorted(
                {
                    o
                    for lk, o in zip(
                        d["drawing"].piece_layer, d["drawing"].piece_object, strict=True
                    )
                    if lk == layer.key
                }
            )
            sids = sorted({s for o in objs for s in d["segments"].get(o, [])})
            entry["annotators"][a] = {
                "segment_ids": sids,
                "category_ids": [d["categories"][s] for s in sids],
            }
        record["instances"][layer.key] = entry
    record["events"] = _events(record["instances"], drawn) + _occlusion_events(scene, drawn)
    return record, anns, {"scene": scene}


def _occlusion_events(scene, drawn: dict) -> list[dict]:
    """Overlapping objects an annotator drew near-first, so the far one covers the near one."""
    objects = [lay for lay in scene.layers if not lay.base]
    masks = {lay.key: rasterize(lay.parts) > 0 for lay in objects}
    near = {lay.key: lay.near for lay in objects}
    pairs = []
    for i, a in enumerate(objects):
        for b in objects[i + 1 :]:
            px = int(np.count_nonzero(masks[a.key] & masks[b.key]))
            if px >= 50:
                front, behind = (a.key, b.key) if near[a.key] > near[b.key] else (b.key, a.key)
                pairs.append((front, behind, px))
    events = []
    for annotator, d in drawn.items():
        first = {}
        for pos, key in enumerate(d["drawing"].piece_layer):
            first.setdefault(key, pos)
        for front, behind, px in pairs:
            if front in first and behind in first and first[front] < first[behind]:
                events.append(
                    {
                        "annotator": annotator,
                        "kind": "occlusion_order",
                        "front": front,
                        "behind": behind,
                        "overlap_px": px,
                    }
                )
    return events


def _events(instances: dict, drawn: dict) -> list[dict]:
    """Merges, splits, misses and class swaps as they ended up in each annotator's map."""
    events = []
    for a in drawn:
        seg_to_layers: dict[int, list[str]] = {}
        for key, inst in instances.items():
            for s in inst["annotators"][a]["segment_ids"]:
                seg_to_layers.setdefault(s, []).append(key)
        for key, inst in instances.items():
            mine = inst["annotators"][a]
            base = {
                "annotator": a,
                "instance": key,
                "category": inst["category"],
                "true_area": inst["true_area"],
            }
            if not mine["segment_ids"]:
                events.append({**base, "kind": "missed"})
                continue
            if len(mine["segment_ids"]) > 1:
                events.append({**base, "kind": "split", "segment_ids": mine["segment_ids"]})
            cid = next(c["id"] for c in CATEGORIES if c["name"] == inst["category"])
            if any(c != cid for c in mine["category_ids"]):
                drawn_as = next(c["name"] for c in CATEGORIES if c["id"] == mine["category_ids"][0])
                events.append(
                    {
                        **base,
                        "kind": "class_swap",
                        "drawn_as": drawn_as,
                        "segment_ids": mine["segment_ids"],
                    }
                )
        for sid, keys in seg_to_layers.items():
            if len(keys) > 1:
                events.append(
                    {
                        "annotator": a,
                        "kind": "merge",
                        "segment_id": sid,
                        "instances": keys,
                        "category": instances[keys[0]]["category"],
                    }
                )
    return events


def generate(out: Path, *, limit: int | None = None) -> dict:
    """Write the whole sample study under ``out``; returns the planted-facts document."""
    if out.exists():
        for sub in ("batch1", "batch2", "truth", "images"):
            shutil.rmtree(out / sub, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    cats = Categories.from_coco(CATEGORIES)
    (out / "categories.json").write_text(json.dumps(CATEGORIES, indent=1) + "\n")
    planted: dict = {
        "seed": SEED,
        "image_size": {"height": H, "width": W},
        "annotators": {p.name: _profile_doc(p) for p in PROFILES},
        "batches": {},
    }
    for batch_no, (batch, guideline, numbers, missing) in enumerate(BATCHES, start=1):
        names = [f"street_{n:03d}.jpg" for n in numbers][:limit]
        per_annotator: dict[str, list] = {}
        images = {}
        for idx, name in zip(numbers, names, strict=False):  # names may be cut by --limit
            record, anns, _ = _image_result(batch_no, idx, name, guideline, missing, out)
            images[name] = record
            for a, ann in anns.items():
                per_annotator.setdefault(a, []).append(ann)
        for a, anns in per_annotator.items():
            folder = out / "truth" / batch if a == "truth" else out / batch / a
            write_coco_panoptic(
                anns,
                cats,
                folder / "panoptic.json",
                folder / "png",
                info={
                    "description": f"agreement sample study, {batch}, {a}",
                    "guideline": guideline,
                    "generator": "scripts/make_sample.py",
                },
            )
        planted["batches"][batch] = {
            "guideline": guideline,
            "images": names,
            "missing": [{"image": i, "annotator": a} for i, a in sorted(missing) if i in names],
            "per_image": images,
        }
    return planted


def _profile_doc(p: Profile) -> dict:
    doc = {k: v for k, v in p.__dict__.items() if k not in ("name", "notes", "curb")}
    doc["curb_border"] = {
        g: {"anchor": a, "mean_px": m, "sd_px": s} for g, (a, m, s) in p.curb.items()
    }
    doc["behaviour"] = p.notes
    return doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/sample"))
    parser.add_argument("--limit", type=int, default=None, help="only the first N images per batch")
    parser.add_argument("--no-check", action="store_true", help="skip measuring the planted facts")
    args = parser.parse_args(argv)
    planted = generate(args.out, limit=args.limit)
    if not args.no_check:
        from _sample_check import check

        planted = {**planted, **check(args.out, planted)}
    (args.out / "planted.json").write_text(json.dumps(planted, indent=1, sort_keys=False) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
