"""Write panoptic annotations as Label Studio JSON tasks, each with ONE annotation of brushes.

Every region (see :mod:`agreement.io._export_regions`: one per thing segment, one per stuff
category, void left out) is one ``brushlabels`` result in Label Studio's brush RLE (the SDK's
``mask2rle`` form: alpha 255 in the mask, see :mod:`agreement.io._lsrle_encode`), with
``original_width`` / ``original_height``, ``from_name`` / ``to_name`` naming the labeling
config's ``<BrushLabels>`` and ``<Image>`` tags (:func:`labeling_config` writes a matching one).

The file is a list of tasks, as Label Studio's JSON import takes it: ``data`` points at the
image, ``annotations`` holds the one annotation (or ``predictions`` with ``as_predictions=True``,
to import it as a model's pre-annotation to review). Tasks are streamed, one per line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..model import Categories, PanopticAnnotation
from ._export_regions import check_image_name, export_regions
from ._files import atomic_write
from ._lsrle_encode import encode_brush
from ._xmltext import quoteattr

__all__ = ["labeling_config", "labelstudio_task", "write_labelstudio"]

ImageUrl = str | Callable[[str], str] | None


def labeling_config(categories: Categories, *, from_name: str = "tag", to_name: str = "image",
                    data_key: str = "image") -> str:
    """A Label Studio labeling config whose ``<BrushLabels>`` lists every category.

    Examples
    --------
    >>> from agreement.model import Category
    >>> print(labeling_config(Categories([Category(1, "car", True, (0, 0, 142))])))
    <View>
      <Image name="image" value="$image" zoom="true"/>
      <BrushLabels name="tag" toName="image">
        <Label value="car" background="#00008e"/>
      </BrushLabels>
    </View>
    """
    lines = ["<View>",
             f"  <Image name={quoteattr(to_name)} value={quoteattr('$' + data_key)} "
             'zoom="true"/>',
             f"  <BrushLabels name={quoteattr(from_name)} toName={quoteattr(to_name)}>"]
    for cat in categories.values():
        color = "" if cat.color is None else (
            ' background="#{:02x}{:02x}{:02x}"'.format(*cat.color))
        lines.append(f"    <Label value={quoteattr(cat.name)}{color}/>")
    lines += ["  </BrushLabels>", "</View>"]
    return "\n".join(lines)


def _url(ann: PanopticAnnotation, image_url: ImageUrl, file: Path) -> str:
    ref = ann.image.tool_ref
    name = check_image_name(ann.image.file_name, file=file)
    if callable(image_url):
        return image_url(name)
    if image_url is not None:
        return image_url + quote(name)
    if ref is not None and ref.tool == "labelstudio" and ref.image:
        return ref.image
    return quote(name)  # a URL path: '#', '?', '%' and spaces escaped (readers unescape them)


def labelstudio_task(ann: PanopticAnnotation, categories: Categories, *,
                     from_name: str = "tag", to_name: str = "image", data_key: str = "image",
                     image_url: ImageUrl = None, as_predictions: bool = False,
                     model_version: str = "agreement", file: str | Path = "tasks.json"
                     ) -> dict[str, Any]:
    """The Label Studio task of one annotation (see :func:`write_labelstudio`)."""
    h, w = ann.image.height, ann.image.width
    results = []
    for region in export_regions(ann, categories, file=file):
        rid = (f"s{region.segment_ids[0]}" if region.isthing else f"c{region.category_id}")
        rle = encode_brush(region.mask, top=region.top, left=region.left, height=h, width=w)
        results.append({"id": rid, "type": "brushlabels", "from_name": from_name,
                        "to_name": to_name, "original_width": w, "original_height": h,
                        "image_rotation": 0,
                        "value": {"format": "rle", "rle": rle, "brushlabels": [region.label]}})
    task: dict[str, Any] = {"data": {data_key: _url(ann, image_url, Path(file))}}
    if as_predictions:  # with an empty annotation list, as Label Studio's exports have it
        task["annotations"] = []
        task["predictions"] = [{"model_version": model_version, "result": results}]
    else:
        task["annotations"] = [{"result": results, "was_cancelled": False,
                                "ground_truth": False}]
    return task


def write_labelstudio(
    annotations: Iterable[PanopticAnnotation],
    categories: Categories,
    path: str | os.PathLike[str],
    *,
    from_name: str = "tag",
    to_name: str = "image",
    data_key: str = "image",
    image_url: ImageUrl = None,
    as_predictions: bool = False,
    model_version: str = "agreement",
) -> Path:
    """Write annotations as Label Studio JSON tasks with brush results, atomically, streaming.

    Parameters
    ----------
    annotations : iterable of PanopticAnnotation
        One per image, consumed one at a time.
    categories : Categories
        Every segment's category must be in it; results name categories by name.
    path
        The JSON file to write.
    from_name, to_name, data_key
        The labeling config's ``<BrushLabels name>``, ``<Image name>`` and ``<Image value>``
        (``$image``): they must match the project's config (:func:`labeling_config`).
    image_url : str or callable, optional
        The task's ``data`` value: a prefix put before the image's file name (%-escaped as a
        URL path: ``"/data/local-files/?d=images/"``), or a function of the file name. By
        default the value Label Studio had when the annotation was read from a Label Studio
        export (``image.tool_ref``: the uploaded file, so the tasks point at it again), else
        the %-escaped file name.
    as_predictions : bool
        Write the regions as a prediction (``predictions``, ``model_version``) instead of an
        annotation, to review them in Label Studio before accepting them.
    model_version : str

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    AnnotationError
        A segment whose category is not in ``categories``, a segment of the table absent from
        the map, an image name that is absolute or holds ``..``. Nothing is written then.

    Notes
    -----
    An image without any region gets a task with an empty annotation; Label Studio's exports
    of such a task carry no image size, so readers (this package's too) cannot size it. Crowd
    flags are not written (a brush has none).

    Examples
    --------
    >>> import tempfile
    >>> from agreement.model import Category
    >>> from agreement.io.labelstudio import read_labelstudio
    >>> cats = Categories([Category(1, "car", True), Category(7, "road", False)])
    >>> ann = PanopticAnnotation.from_map([[7, 7, 3], [7, 0, 3]], {3: 1, 7: 7}, file_name="a.jpg")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = write_labelstudio([ann], cats, Path(tmp) / "tasks.json")
    ...     back = read_labelstudio(path, categories=cats).load("a.jpg")
    >>> back.ids.tolist(), [(s.category_id, s.area) for s in back.segments]
    ([[1, 1, 2], [1, 0, 2]], [(7, 3), (1, 2)])
    """
    path = Path(path)
    with atomic_write(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as out:
        out.write("[")
        for n, ann in enumerate(annotations):
            task = labelstudio_task(ann, categories, from_name=from_name, to_name=to_name,
                                    data_key=data_key, image_url=image_url,
                                    as_predictions=as_predictions, model_version=model_version,
                                    file=path)
            out.write(("\n" if n == 0 else ",\n") + json.dumps(task, separators=(",", ":")))
        out.write("\n]\n")
    return path
