"""The category set: ids, names, thing / stuff flags and colors (COCO ``categories``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from .errors import AnnotationError

__all__ = ["Categories", "Category"]


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
        """
        cats = []
        for i, entry in enumerate(entries):
            try:
                cid = int(entry["id"])
                name = str(entry["name"])
            except (KeyError, TypeError, ValueError) as exc:
                raise AnnotationError(
                    f"categories[{i}] must have an integer 'id' and a 'name', got {entry!r}",
                    file=file,
                ) from exc
            isthing = entry.get("isthing", 1)
            if isthing not in (0, 1, "0", "1"):  # True/False compare equal to 1/0
                raise AnnotationError(
                    f"categories[{i}] 'isthing' must be 0 or 1, got {isthing!r}", file=file
                )
            color = entry.get("color")
            cats.append(
                Category(
                    id=cid,
                    name=name,
                    isthing=int(isthing) == 1,
                    color=tuple(int(c) for c in color[:3]) if color else None,  # type: ignore[arg-type]
                    supercategory=entry.get("supercategory"),
                )
            )
        return cls(cats)

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
        return pd.DataFrame(
            {
                "category_id": [c.id for c in self._items.values()],
                "name": [c.name for c in self._items.values()],
                "isthing": [c.isthing for c in self._items.values()],
                "supercategory": [c.supercategory for c in self._items.values()],
            }
        )
