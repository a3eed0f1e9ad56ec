"""Package attributes loaded on first use, so that importing a package costs only what is used.

``agreement pq`` needs one reader and the PQ part; importing every reader, plot and part up front
(scipy, pandas, matplotlib) cost it more than its evaluation. A package lists its public names
and the submodule each comes from; :func:`lazy_attributes` returns the module-level
``__getattr__`` and ``__dir__`` (PEP 562) that import the submodule when a name is first read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(package: str, names: Mapping[str, str], namespace: dict[str, Any]
                    ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``names`` maps each public name to the
    submodule (relative, without the leading dot) that defines it.

    The value is stored in ``namespace`` (the package's globals) once loaded, so later reads
    skip ``__getattr__``.

    Examples
    --------
    >>> import json
    >>> namespace = {}
    >>> getattr_, dir_ = lazy_attributes("json", {"JSONEncoder": "encoder"}, namespace)
    >>> getattr_("JSONEncoder") is json.encoder.JSONEncoder, "JSONEncoder" in namespace
    (True, True)
    """

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
