"""Connected components of a graph given by its edge list (the regions' graph of runs).

The compiled kernel (a union-find) when it is built, else ``scipy.sparse.csgraph``, imported only
then: with the kernel, the report never imports ``scipy.sparse`` (whose csgraph pulls in
``scipy.sparse.linalg`` and ``scipy.linalg``, about 0.1-0.2 s of start-up).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .. import _native

__all__ = ["components"]


def components(n: int, src: npt.ArrayLike, dst: npt.ArrayLike
               ) -> tuple[npt.NDArray[np.int64], int]:
    """Component of each of ``n`` nodes joined by the undirected edges ``(src[i], dst[i])``,
    numbered in the order of their smallest node (as ``scipy.sparse.csgraph`` numbers them),
    and their number.

    >>> labels, k = components(5, [4, 1], [1, 3])
    >>> labels.tolist(), k
    ([0, 1, 2, 1, 1], 3)
    """
    src = np.asarray(src)
    dst = np.asarray(dst)
    if src.shape != dst.shape or src.ndim != 1:
        raise ValueError("src and dst must be 1-D arrays of the same length")
    if src.size and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= n):
        raise ValueError(f"edges must join nodes in [0, {n})")
    k = _native.kernels
    if k is not None and n < 1 << 31:
        out = np.empty(n, np.int32)
        count = k.components(n, np.ascontiguousarray(src, np.int32),
                             np.ascontiguousarray(dst, np.int32), out)
        return out.astype(np.int64), int(count)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(src.size, np.int8), (src, dst)), shape=(n, n)).tocsr()
    count, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64), int(count)
