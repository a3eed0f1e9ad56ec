"""Benchmark: the report's region pictures, painted into pixels vs drawn as matplotlib figures.

For the most severe regions of a study (the sample by default) it prints the milliseconds per
region of

- the painted panels (:func:`agreement.plot_regions.region_panel_pixels`, what the report does):
  one RGB picture per annotator and the whole picture with its legend, each encoded (JPEG over a
  photo, PNG otherwise);
- the same panels drawn as a matplotlib figure (:func:`agreement.plot_regions.plot_region_panels`),
  each panel cut out of the rendered canvas and encoded the same way (what the report did
  before);

both from the same regions' crops (:func:`agreement.plot_regions.region_crop`, timed apart: the
figure's of every pixel, the painted panels' of the pixels they show), and their ratio; then
the report's heatmap figures (top images, mean, class pairs), painted and encoded as the report
does (:func:`agreement.report.figures.disagreement_figures`) against the same maps drawn as
matplotlib figures with constrained layout (what the report did before) and encoded at 90 dpi.
``--report`` also times ``agreement report STUDY`` as a whole (a subprocess, median of
``--repeat``), and with ``--agreement PATH`` another installation's command beside it,
interleaved, with the ratio.

Usage::

    python benchmarks/bench_pictures.py [--study data/sample/batch1] [--regions 40]
        [--report] [--agreement OTHER/.venv/bin/agreement] [--repeat 5]

Times are process CPU seconds (``time.process_time``), best of ``--repeat``.

No assertion: numbers are printed (timings are noisy on a shared machine; compare runs made in
one call, interleaved).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from agreement.io import open_study
from agreement.plot_regions import (
    PANEL_PX,
    plot_region_panels,
    region_crop,
    region_panel_pixels,
)
from agreement.report.figures import ImageMaps
from agreement.report.pictures import _encode
from agreement.study.disputes import disagreement

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(sys.executable).parent / "agreement"


def _cut_panels(fig) -> tuple[list[np.ndarray], np.ndarray]:
    """The earlier way: draw the figure once, cut each axes (with its title) out of it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    rgb = np.asarray(canvas.buffer_rgba())[..., :3]
    height = rgb.shape[0]
    renderer = canvas.get_renderer()
    out = []
    for ax in fig.axes:
        box = ax.get_tightbbox(renderer)
        x0, x1 = max(0, int(np.floor(box.x0))), int(np.ceil(box.x1)) + 1
        y0, y1 = max(0, height - int(np.ceil(box.y1)) - 1), height - int(np.floor(box.y0))
        out.append(rgb[y0:y1, x0:x1].copy())
    return out, rgb.copy()


def painted(crop, photo: bool) -> int:
    panels, whole = region_panel_pixels(crop)
    data = [_encode(p, photo=photo) for p in panels] + [_encode(whole, photo=False, level=1)]
    return sum(len(d) for d in data)


def drawn(crop, photo: bool, categories) -> int:
    fig = plot_region_panels({}, {}, categories, crop=crop)
    fig.set_dpi(100)
    panels, whole = _cut_panels(fig)
    data = [_encode(p, photo=photo) for p in panels] + [_encode(whole, photo=False, level=1)]
    return sum(len(d) for d in data)


def heatmaps_painted(dis, study, maps) -> int:
    from agreement.report.figures import disagreement_figures, heatmap_section_figures

    return sum(len(f.png) for f in heatmap_section_figures(
        disagreement_figures(dis, study, maps=maps)))


def heatmaps_matplotlib(dis, study, maps) -> int:
    """The same maps as matplotlib figures laid out by constrained layout (the former way)."""
    from matplotlib.figure import Figure

    from agreement.plot_heatmaps import plot_frame_heatmap, plot_image_heatmap
    from agreement.report.figures import disagreement_figures, png_bytes

    size = 0
    for d in disagreement_figures(dis, study, maps=maps):
        n = len(d.panels)
        fig = Figure(figsize=(6.6 if d.name.startswith("image-") else 5.2 * n, 3.6),
                     layout="constrained")
        for ax, p in zip(fig.subplots(1, n, squeeze=False)[0], d.panels, strict=True):
            if p.frame:
                plot_frame_heatmap(p.values, title=p.title, label=p.bar.label, ax=ax)
            else:
                # the painted picture as the photo: the same drawing work
                plot_image_heatmap(p.values, photo=p.rgb, ax=ax, title=p.title)
        size += len(png_bytes(fig, dpi=90))
    return size


def time_report(command: str, study: Path) -> float:
    out = Path(tempfile.mkdtemp(prefix="bench-pictures-"))
    try:
        t = time.perf_counter()
        subprocess.run([command, "report", str(study), "--out", str(out / "r"), "-q"],
                       check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - t
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default=str(ROOT / "data" / "sample" / "batch1"))
    parser.add_argument("--regions", type=int, default=40)
    parser.add_argument("--report", action="store_true", help="also time whole reports")
    parser.add_argument("--agreement", default=None, metavar="PATH",
                        help="another installation's agreement command to compare with")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    opened = open_study(args.study)
    study = opened.study
    dis = disagreement(study)
    regions = dis.regions.head(args.regions).sort_values("image", kind="stable")
    maps = ImageMaps(study, opened.images_dir)
    # the figure needs every pixel of the crop; the painted panels only those they show
    # (region_crop(..., panel_width=PANEL_PX), what the report does)
    crops, panel_crops, t_crop, t_panel_crop = [], [], 0.0, 0.0
    for region in regions.to_dict("records"):
        anns, heat, photo = maps[region["image"]]
        t = time.perf_counter()
        crops.append((region_crop(region, anns, study.categories, image=photo, disputed=heat),
                      photo is not None))
        t_crop += time.perf_counter() - t
        t = time.perf_counter()
        panel_crops.append((region_crop(region, anns, study.categories, image=photo,
                                        disputed=heat, panel_width=PANEL_PX), photo is not None))
        t_panel_crop += time.perf_counter() - t
    n = len(crops)
    best = {"painted": np.inf, "matplotlib": np.inf}
    size = {}
    for _ in range(args.repeat):  # interleaved, best of
        t = time.perf_counter()
        size["painted"] = sum(painted(c, p) for c, p in panel_crops)
        best["painted"] = min(best["painted"], time.perf_counter() - t)
        t = time.perf_counter()
        size["matplotlib"] = sum(drawn(c, p, study.categories) for c, p in crops)
        best["matplotlib"] = min(best["matplotlib"], time.perf_counter() - t)
    print(f"{args.study}: {n} regions, crops {1e3 * t_crop / n:.1f} ms/region (every pixel, "
          f"for the figure), {1e3 * t_panel_crop / n:.1f} ms/region (the pixels the "
          f"{PANEL_PX} px panels show)")
    for k, v in best.items():
        print(f"  {k:10s}: {1e3 * v / n:7.1f} ms/region, {size[k] / n / 1024:6.1f} kB/region "
              "encoded")
    print(f"  matplotlib / painted: {best['matplotlib'] / best['painted']:.1f}x")
    heat = {"painted": np.inf, "matplotlib": np.inf}
    held = ImageMaps(study, opened.images_dir, keep=4)  # the top images decoded once
    for _ in range(args.repeat):  # interleaved, best of
        for name, draw in (("painted", heatmaps_painted), ("matplotlib", heatmaps_matplotlib)):
            t = time.process_time()
            size[name] = draw(dis, study, held)
            heat[name] = min(heat[name], time.process_time() - t)
    print("heatmap figures (top images, mean, class pairs), made and encoded:")
    for k, v in heat.items():
        print(f"  {k:10s}: {v:6.2f} s, {size[k] / 1024:6.1f} kB")
    if args.report:
        commands = {"this": str(HERE)}
        if args.agreement:
            commands["other"] = args.agreement
        runs: dict[str, list[float]] = {k: [] for k in commands}
        for _ in range(args.repeat):
            for name, command in commands.items():  # interleaved
                runs[name].append(time_report(command, Path(args.study)))
        med = {k: sorted(v)[len(v) // 2] for k, v in runs.items()}
        line = "  report: " + ", ".join(
            f"{k} {med[k]:.1f} s (runs {', '.join(f'{x:.1f}' for x in runs[k])})" for k in med)
        if "other" in med:
            line += f"; other / this: {med['other'] / med['this']:.2f}x"
        print(line)


if __name__ == "__main__":
    main()
