"""The report's "How to read these numbers": what each number means, its range, what is good.

Words only: the definitions are those of ``docs/metrics.md`` (PQ, SQ, RQ, Boundary PQ, boundary
IoU), ``docs/disagreement.md`` (kappa, alpha, void) and ``docs/findings.md`` (effects), said in a
few lines each; the study's own parameters (interval level and resamples, border band) come from
the report's options and findings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import Paragraph, Section

__all__ = ["NUMBERS_TITLE", "numbers_section"]

#: Title of the section (the summary points to it).
NUMBERS_TITLE = "How to read these numbers"


def numbers_section(*, confidence: float = 0.95, n_bootstrap: int = 1000,
                    findings_parameters: Mapping[str, Any] | None = None) -> Section:
    """The section explaining the report's numbers.

    Parameters
    ----------
    confidence : float
        Level of the bootstrap intervals (the report's ``confidence``).
    n_bootstrap : int
        Resamples of the PQ intervals (0: none computed).
    findings_parameters : mapping, optional
        The findings' parameters (``band_px``: the border band; ``n_boot``: the effects'
        resamples).

    Returns
    -------
    Section

    Examples
    --------
    >>> s = numbers_section(findings_parameters={"band_px": 23})
    >>> s.key, s.title
    ('numbers', 'How to read these numbers')
    >>> [b for b in s.blocks[1] if b.startswith("Boundary PQ")][0][:73]
    'Boundary PQ: PQ with each match scored by the smaller of its mask IoU and'
    """
    params = dict(findings_parameters or {})
    band = params.get("band_px")
    band_text = (f"{band} px here, 2% of the image diagonal" if band else
                 "2% of the image diagonal")
    level = f"{100 * confidence:g}%"
    boot = (f"{level} percentile bootstrap over images ({n_bootstrap} resamples: the images "
            f"drawn again with replacement, the counts summed again)" if n_bootstrap > 0 else
            "not computed for this report (no bootstrap resamples)")
    effects_boot = params.get("n_boot")
    intro = Paragraph(
        "Every score compares annotators with each other (there is no ground truth): 1 means "
        "they drew the same thing. PQ, SQ, RQ, Boundary PQ, boundary IoU, kappa and alpha are "
        "fractions from 0 to 1 (kappa and alpha can go below 0) everywhere in this report, the "
        "summary included; the findings' effects are in px or in percentage points. Full "
        "definitions: docs/metrics.md (PQ, SQ, RQ, Boundary PQ), docs/disagreement.md (kappa, "
        "alpha, void) and docs/findings.md (findings) in the agreement documentation.")
    items = (
        "PQ (panoptic quality) = SQ x RQ, from 0 to 1 (1: the same segments with the same "
        "outlines). Two segments of the same class match when their IoU is above 0.5; "
        "PQ = sum of the matches' IoU / (TP + FP/2 + FN/2), with TP, FP, FN summed per class "
        "over every image and every ordered annotator pair (each annotator in turn the "
        "reference), never a mean of per-image PQs; All / Things / Stuff are the unweighted "
        "means over their classes (n).",
        "SQ (segmentation quality): the mean IoU of the matched segments, from 0.5 to 1 (0 "
        "when nothing matches): how closely the outlines of the segments both drew agree.",
        "RQ (recognition quality): TP / (TP + FP/2 + FN/2), from 0 to 1, an F1 score of the "
        "segments: whether the annotators drew the same objects and regions.",
        f"Boundary PQ: PQ with each match scored by the smaller of its mask IoU and its "
        f"boundary IoU, the IoU of the bands along the two outlines ({band_text}); boundary "
        f"IoU: its mean over the matches. Lower than PQ when outlines differ while the areas "
        f"overlap.",
        "Kappa (Cohen's, per annotator pair; mean_kappa = an annotator's mean with the others) "
        "and alpha (Krippendorff's, nominal, all annotators at once): agreement of the pixels' "
        "class labels corrected for chance, 1 = perfect, 0 = no better than chance, below 0 = "
        "worse; alpha >= 0.8 is commonly taken as reliable, below 0.667 as too low to draw "
        "conclusions from. Void (unlabelled) pixels are left out of kappa and alpha (void: "
        "exclude): a pixel counts for those who labelled it, so gaps can lower PQ (a segment "
        "with a gap covers less of the other's) but not kappa or alpha.",
        f"Intervals (CI): {boot}: how much a number could move with other images of the same "
        f"kind. Columns pq_ci_low / pq_ci_high are that interval of PQ.",
        "Findings: an effect is the mean over images of the annotator's value minus the "
        "median of the image's annotators' values, in px (borders, outlines) or, for shares "
        "(of pixels, of objects), in percentage points: a difference of two shares (76% "
        "against 0-4% for the others is about +75 points), not a relative \"% more\". Its "
        "interval is a 95% bootstrap over images"
        + (f" ({effects_boot} resamples)" if effects_boot else "")
        + "; a finding is tested by permuting the annotators within images.",
    )
    return Section("numbers", NUMBERS_TITLE, (intro, items))
