"""The report's annotator table: what it says of each annotator."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from agreement.diagnosis import Findings
from agreement.report.collect import annotator_table


def _table(names):
    result = SimpleNamespace(annotator_agreement=lambda: pd.DataFrame(
        {"annotator": names, "pq": [0.7] * len(names)}))
    dis = SimpleNamespace(annotators=pd.DataFrame(
        {"annotator": names, "mean_kappa": [0.9] * len(names),
         "dissent_regions": [973] + [222] * (len(names) - 1),
         "dissent_share": [0.8] + [0.2] * (len(names) - 1)}))
    return annotator_table(result, dis, None, Findings((), pd.DataFrame(), {}),
                           SimpleNamespace(annotators=tuple(names)))


def test_two_annotators_have_no_dissent_columns():
    # one against one: the tie-break, not the annotator, decides which side "dissents"
    table = _table(["alice", "bruno"])
    assert table.columns.tolist() == ["annotator", "mean_pq_with_others", "mean_kappa",
                                      "findings", "systematic"]
    three = _table(["alice", "bruno", "chen"])
    assert three["dissent_regions"].tolist() == [973, 222, 222]
    assert three["dissent_share"].tolist() == [0.8, 0.2, 0.2]
