"""The habits planted in data/sample (data/sample/README.md, planted.json), as findings would
name them: (annotator, kind, classes); classes None = any; annotator "everyone" = a guideline
finding naming nobody (batch 1's guideline v1 leaves the curb open: each annotator anchors the
road / sidewalk border on another part of the curb, and moves it from image to image)."""

PLANTED = {("chen", "boundary_offset", frozenset({"road", "sidewalk"})),
           ("everyone", "boundary_offset", frozenset({"road", "sidewalk"})),
           ("chen", "class_confusion", frozenset({"road", "sidewalk"})),
           ("bruno", "unlabeled", frozenset()), ("bruno", "missed_small", frozenset()),
           ("bruno", "merge", frozenset({"person"})), ("bruno", "boundary_detail", None),
           ("bruno", "class_confusion", frozenset({"rider", "person"})),
           ("bruno", "extent", frozenset({"pole"})),
           ("bruno", "extent", frozenset({"traffic sign"})),
           ("bruno", "boundary_offset", frozenset({"traffic sign", "sky"})),
           ("dana", "split", None), ("dana", "layer_overlap", frozenset()),
           ("dana", "class_confusion", frozenset({"car", "truck"}))}


def planted(annotators, kind: str, categories) -> bool:
    """Whether a finding (its annotators, kind, categories) is one of the sample's habits."""
    who = tuple(annotators)
    return any((who == (w,) or (w == "everyone" and who == ())) and kind == k
               and (c is None or frozenset(categories) == c) for w, k, c in PLANTED)
