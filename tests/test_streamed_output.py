"""What the commands write piece by piece (a long list of findings is never held as a list of
dicts, a table as cells) is the same text as written whole."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agreement.cli._common import Streamed, emit_json, text_table, text_table_lines

_leaf = (st.none() | st.booleans() | st.integers() | st.floats(allow_infinity=False)
         | st.text(alphabet=st.characters(codec="utf-8"), max_size=6))
_value = st.recursive(_leaf, lambda kids: st.lists(kids, max_size=3)
                      | st.dictionaries(st.text(max_size=3), kids, max_size=3), max_leaves=10)


@settings(max_examples=60, deadline=None)
@given(head=st.dictionaries(st.text(max_size=4), _value, max_size=3), items=st.lists(_value,
       max_size=4), tail=st.dictionaries(st.text(max_size=4), _value, max_size=2))
def test_a_streamed_array_is_written_as_the_list_would_be(tmp_path_factory, head, items, tail):
    whole = {**head, "findings": list(items), **{k: v for k, v in tail.items() if k not in head
                                                 and k != "findings"}}
    streamed = {k: Streamed(lambda: iter(items)) if k == "findings" else v
                for k, v in whole.items()}
    folder = tmp_path_factory.mktemp("j")
    emit_json(whole, str(folder / "a.json"))
    emit_json(streamed, str(folder / "b.json"))
    a, b = (folder / "a.json").read_text(), (folder / "b.json").read_text()
    assert a == b and len(json.loads(b)["findings"]) == len(items)


def test_streamed_to_stdout_too(capsys):
    emit_json({"n": np.int64(2), "rows": Streamed(lambda: ({"x": np.float64("nan")}, {}))})
    whole = capsys.readouterr().out
    emit_json({"n": 2, "rows": [{"x": None}, {}]})
    assert whole == capsys.readouterr().out
    assert json.loads(whole) == {"n": 2, "rows": [{"x": None}, {}]}


@pytest.mark.parametrize("rows", [
    [], [("error", 3), ("warning", 12)], [("a", None), ("bb", 1.5)], [(1, "x"), (-20, "yyyy")],
    [(True, "t")],
])
def test_table_lines_join_to_the_table(rows):
    cols = ["severity", "count"]
    assert "\n".join(text_table_lines(lambda: iter(rows), cols)) == text_table(rows, cols)
