"""The habits planted in data/sample (data/sample/README.md, planted.json), as findings would
name them: (annotator, kind, classes); classes None = any."""

PLANTED = {("chen", "boundary_offset", frozenset({"road", "sidewalk"})),
           ("chen", "class_confusion", frozenset({"road", "sidewalk"})),
           ("bruno", "unlabeled", frozenset()), ("bruno", "missed_small", frozenset()),
           ("bruno", "merge", frozenset({"person"})), ("bruno", "boundary_detail", None),
           ("bruno", "class_confusion", frozenset({"rider", "person"})),
           ("bruno", "extent", frozenset({"pole"})),
           ("bruno", "extent", frozenset({"traffic sign"})),
           ("bruno", "boundary_offset", frozenset({"traffic sign", "sky"})),
           ("dana", "split", None), ("dana", "layer_overlap", frozenset()),
           ("dana", "class_confusion", frozenset({"car", "truck"}))}
