"""The per-pixel vote behind a consensus map: how many annotators agree with it, and where no
category won.

A :class:`VoteLayer` travels with each consensus map to :func:`agreement.io.write_consensus`,
which writes it as one PNG per image (:meth:`VoteLayer.to_rgb`). :func:`vote_layer` computes it
from the annotators' maps and the consensus map, for the pixel-majority consensus of
:func:`agreement.consensus.consensus` (void as a vote of its own, or not a vote).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .errors import AnnotationError
from .metrics.pixel import VoidMode, _check_void, label_map
from .model import Categories, PanopticAnnotation

__all__ = ["VoteLayer", "vote_layer"]


@dataclass(frozen=True, eq=False)
class VoteLayer:
    """The votes behind one consensus map.

    Attributes
    ----------
    agree : ndarray of uint8, shape (H, W)
        Annotators whose category at the pixel is the consensus category. On a void consensus
        pixel, those who left it void when void is a vote; 0 when it is not.
    voters : ndarray of uint8, shape (H, W)
        Annotators who voted at the pixel: all of them when void is a vote, else those who
        labelled it.
    no_majority : ndarray of bool, shape (H, W)
        Pixels the consensus leaves void because no category won: the largest vote was tied, or
        not above the required share (:func:`agreement.consensus.consensus`'s ``tie_pixels`` and
        ``weak_pixels``). Void pixels the annotators left void are not among them.
    """

    agree: npt.NDArray[np.uint8]
    voters: npt.NDArray[np.uint8]
    no_majority: npt.NDArray[np.bool_]

    def __post_init__(self) -> None:
        shapes = {np.shape(self.agree), np.shape(self.voters), np.shape(self.no_majority)}
        if len(shapes) != 1 or len(next(iter(shapes))) != 2:
            raise AnnotationError(f"vote layer arrays must be 2-D of one shape, got "
                                  f"{sorted(shapes)}")

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)``."""
        return tuple(np.shape(self.agree))  # type: ignore[return-value]

    @property
    def support(self) -> npt.NDArray[np.float32]:
        """``agree / voters`` (0 where nobody voted)."""
        v = self.voters.astype(np.float32)
        return np.divide(self.agree.astype(np.float32), v, out=np.zeros_like(v), where=v > 0)

    def to_rgb(self) -> npt.NDArray[np.uint8]:
        """The layer as one RGB image: R = ``agree``, G = ``voters``, B = 255 where
        ``no_majority`` (0 elsewhere).

        Examples
        --------
        >>> layer = VoteLayer(np.array([[3, 1]], np.uint8), np.array([[4, 4]], np.uint8),
        ...                   np.array([[False, True]]))
        >>> layer.to_rgb().tolist()
        [[[3, 4, 0], [1, 4, 255]]]
        """
        return np.stack([self.agree.astype(np.uint8), self.voters.astype(np.uint8),
                         np.where(self.no_majority, 255, 0).astype(np.uint8)], axis=-1)

    @classmethod
    def from_rgb(cls, rgb: npt.ArrayLike) -> VoteLayer:
        """The inverse of :meth:`to_rgb` (reading a written vote PNG)."""
        arr = np.asarray(rgb, dtype=np.uint8)
        return cls(arr[..., 0].copy(), arr[..., 1].copy(), arr[..., 2] > 127)


def vote_layer(annotations: Mapping[str, PanopticAnnotation], consensus: PanopticAnnotation,
               categories: Categories, *, void: VoidMode = "label") -> VoteLayer:
    """The vote layer of a pixel-majority consensus map.

    Parameters
    ----------
    annotations : mapping of str to PanopticAnnotation
        The annotators' maps the consensus was made from (1 to 255 of them).
    consensus : PanopticAnnotation
        The consensus map.
    categories : Categories
    void : {"label", "exclude"}
        As given to :func:`agreement.consensus.consensus`: void is a vote of its own, or only
        annotators who label a pixel vote.

    Returns
    -------
    VoteLayer

    Notes
    -----
    With ``c`` the largest number of annotators sharing one category at a pixel and ``v`` the
    number who left it void, a void consensus pixel has no majority when ``c > 0`` and
    (``void="exclude"`` or ``c >= v``): a category led, or tied with void, without winning.
    Its count equals the consensus's ``tie_pixels + weak_pixels``.

    Examples
    --------
    >>> from agreement.model import Category
    >>> from agreement.consensus import consensus
    >>> cats = Categories([Category(1, "road", False), Category(2, "walk", False)])
    >>> a = PanopticAnnotation.from_map([[1, 1, 2, 0]], {1: 1, 2: 2})
    >>> b = PanopticAnnotation.from_map([[1, 2, 1, 0]], {1: 1, 2: 2})
    >>> anns = {"a": a, "b": b}
    >>> layer = vote_layer(anns, consensus(anns, cats).annotation, cats)
    >>> layer.agree.tolist(), layer.no_majority.astype(int).tolist()
    ([[2, 0, 0, 2]], [[0, 1, 1, 0]])
    """
    _check_void(void)
    if not 1 <= len(annotations) <= 255:
        raise AnnotationError(f"a vote layer needs 1 to 255 annotators, got {len(annotations)}")
    shapes = {a.shape for a in annotations.values()} | {consensus.shape}
    if len(shapes) != 1:
        raise AnnotationError(f"annotations and consensus must have one shape, got "
                              f"{sorted(shapes)}", image=consensus.image.file_name)
    ids = tuple(categories)
    labels = [label_map(a, ids) for a in annotations.values()]
    cons = label_map(consensus, ids)
    agree = np.zeros(cons.shape, np.uint8)
    labelled = np.zeros(cons.shape, np.uint8)
    best = np.zeros(cons.shape, np.uint8)  # most annotators sharing one category
    for lab in labels:
        agree += (lab == cons) & ((lab > 0) | (void == "label"))
        labelled += lab > 0
        same = np.zeros(cons.shape, np.uint8)
        for other in labels:
            same += lab == other
        np.maximum(best, np.where(lab > 0, same, 0).astype(np.uint8), out=best)
    n = len(labels)
    if void == "label":
        voters = np.full(cons.shape, n, np.uint8)
        no_majority = (cons == 0) & (best > 0) & (best >= n - labelled)
    else:
        voters = labelled
        no_majority = (cons == 0) & (best > 0)
    return VoteLayer(agree, voters, no_majority)
