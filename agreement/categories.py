"""The category set: ids, names, thing / stuff flags and colors (COCO ``categories``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ._checks import exact_int, short
from .errors import AnnotationError

if TYPE_CHECKING:  # pandas is imported by the methods that build tables
    import pandas as pd

__all__ = ["Categories", "Category"]

#: Category ids are integers in [0, 2**31).
_MAX_CATEGORY_ID = (1 << 31) - 1


@dataclass(frozen=True)
class Category:
    """One class of the label set.

    Attributes
    ----------
    id : int
        The category id used in the annotation files.
    name : str
        Human-readable name.
    isthing : bool
        True for countable objects with instances (car, person), False for amorphous stuff
        (road, sky) that forms one region per class.
    color : tuple of 3 int or None
        Display color (RGB), when the file gives one.
    supercategory : str or None
        Parent group name, when given.
    """

    id: int
    name: str
    isthing: bool
    color: tuple[int, int, int] | None = None
    supercategory: str | None = None

    def to_coco(self) -> dict:
        """Return the COCO ``categories`` entry of this category."""
        out: dict = {"id": self.id, "name": self.name, "isthing": int(self.isthing)}
        if self.supercategory is not None:
            out["supercategory"] = self.supercategory
        if self.color is not None:
            out["color"] = list(self.color)
        return out


class Categories(Mapping[int, Category]):
    """An immutable set of categories keyed by id.

    Parameters
    ----------
    categories : iterable of Category
        Ids and names must be unique.

    Examples
    --------
    >>> cats = Categories([Category(1, "car", True), Category(7, "road", False)])
    >>> cats.thing_ids, cats.stuff_ids, cats.by_name("road").id
    ((1,), (7,), 7)
    """

    def __init__(self, categories: Iterable[Category]) -> None:
        items: dict[int, Category] = {}
        for cat in categories:
            if cat.id in items:
                raise AnnotationError(f"category ids must be unique, got {cat.id} twice")
            items[cat.id] = cat
        names = [c.name for c in items.values()]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise AnnotationError(f"category names must be unique, got {sorted(dup)} twice")
        self._items = dict(sorted(items.items()))

    @classmethod
    def from_coco(cls, entries: Sequence[Mapping], *, file: str | None = None) -> Categories:
        """Build from a COCO ``categories`` list (``id``, ``name``, optional ``isthing``/``color``).

        A missing ``isthing`` is read as thing (1), as COCO instances files are about objects.
        Nothing is coerced: ``id`` must be an integer in ``[0, 2**31)`` (``1.5``, ``"2"`` and
        ``Infinity`` are refused), ``name`` and ``supercategory`` strings, ``color`` three (or
        four) integers in ``[0, 255]``.

        Raises
        ------
        AnnotationError
            An entry that breaks one of these rules, naming the file and the entry.
        """
        if not isinstance(entries, Sequence) or isinstance(entries, str | bytes):
            raise AnnotationError(f"categories must be a list, got {short(entries)}", file=file)
        return cls(_category(i, entry, file) for i, entry in enumerate(entries))

    def to_coco(self) -> list[dict]:
        """Return the COCO ``categories`` list."""
        return [c.to_coco() for c in self._items.values()]

    def __getitem__(self, key: int) -> Category:
        return self._items[key]

    def __iter__(self) -> Iterator[int]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Categories):
            return NotImplemented
        return self._items == other._items

    def __hash__(self) -> int:
        return hash(tuple(self._items.values()))

    def __repr__(self) -> str:
        things, stuff = len(self.thing_ids), len(self.stuff_ids)
        return f"Categories({len(self)} categories: {things} things, {stuff} stuff)"

    @property
    def thing_ids(self) -> tuple[int, ...]:
        """Ids of the thing categories, sorted."""
        return tuple(i for i, c in self._items.items() if c.isthing)

    @property
    def stuff_ids(self) -> tuple[int, ...]:
        """Ids of the stuff categories, sorted."""
        return tuple(i for i, c in self._items.items() if not c.isthing)

    def by_name(self, name: str) -> Category:
        """Return the category called ``name``."""
        for cat in self._items.values():
            if cat.name == name:
                return cat
        raise KeyError(name)

    def name(self, category_id: int) -> str:
        """Name of ``category_id``, or ``'<id>'`` when unknown."""
        cat = self._items.get(category_id)
        return cat.name if cat is not None else f"<{category_id}>"

    def to_frame(self) -> pd.DataFrame:
        """One row per category: ``category_id``, ``name``, ``isthing``, ``supercategory``."""
        import pandas as pd

        items = self._items.values()
        return pd.DataFrame(  # explicit dtypes: an empty set still merges on integer ids
            {
                "category_id": pd.Series([c.id for c in items], dtype=np.int64),
                "name": pd.Series([c.name for c in items], dtype=object),
                "isthing": pd.Series([c.isthing for c in items], dtype=bool),
                "supercategory": pd.Series([c.supercategory for c in items], dtype=object),
            }
        )


def _category(i: int, entry: Any, file: str | None) -> Category:
    what = f"categories[{i}]"
    if not isinstance(entry, Mapping) or "id" not in entry or "name" not in entry:
        raise AnnotationError(f"{what} must have an integer 'id' and a 'name', got "
                              f"{short(entry)}", file=file)
    cid = exact_int(entry["id"], f"{what} 'id'", lo=0, hi=_MAX_CATEGORY_ID,
                    error=AnnotationError, file=file)
    name = entry["name"]
    if not isinstance(name, str):
        raise AnnotationError(f"{what} 'name' must be a string, got {short(name)}", file=file)
    isthing = entry.get("isthing", 1)
    if isinstance(isthing, float) or isthing not in (0, 1, "0", "1"):  # True/False equal 1/0
        raise AnnotationError(f"{what} 'isthing' must be 0 or 1, got {short(isthing)}", file=file)
    color = entry.get("color")
    if color is not None and not (
            isinstance(color, list | tuple) and len(color) in (3, 4)
            and all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255
                    for c in color)):
        raise AnnotationError(f"{what} 'color' must be [r, g, b] integers in [0, 255], got "
                              f"{short(color)}", file=file)
    sup = entry.get("supercategory")
    if sup is not None and not isinstance(sup, str):
        raise AnnotationError(f"{what} 'supercategory' must be a string, got {short(sup)}",
                              file=file)
    return Category(id=cid, name=name, isthing=int(isthing) == 1,
                    color=tuple(color[:3]) if color else None,  # type: ignore[arg-type]
                    supercategory=sup)
