"""viz.table: the HTML/plain-text table the chapters use for their numbers."""
import re

import numpy as np
import pytest
from IPython.display import HTML

from cnnlib import viz


def cells_of(t, tag="td"):
    """(align, text) of every <td> (or <th>) of the table's HTML, in order."""
    return re.findall(rf'<{tag} style="text-align:(\w+);[^"]*">(.*?)</{tag}>', t.data)


def test_is_an_ipython_html_table_with_a_text_repr():
    t = viz.table([["conv1", 448, "442,368"]], ["layer", "params", "MACs"])
    assert isinstance(t, HTML)
    assert t._repr_html_().startswith("<table") and t.data.endswith("</table>")
    assert "tabular-nums" in t.data and "padding" in t.data
    assert repr(t).splitlines() == ["layer  params     MACs",
                                    "-----  ------  -------",
                                    "conv1     448  442,368"]
    assert str(t) == repr(t) == t.text


def test_numbers_right_text_left_by_default():
    rows = [["conv1_1", 1792, "86,704,128", "3×3", 12.5, "12.8 MB"],
            ["fc6", 102_764_544, "102,760,448", "—", -0.25, "0.016 MB"]]
    t = viz.table(rows, ["layer", "params", "MACs", "kernel", "x", "memory"])
    assert t.align == ["left", "right", "right", "left", "right", "right"]
    tds = cells_of(t)
    assert tds[:6] == [("left", "conv1_1"), ("right", "1,792"), ("right", "86,704,128"),
                       ("left", "3×3"), ("right", "12.5"), ("right", "12.8 MB")]
    assert [a for a, _ in cells_of(t, "th")] == t.align   # headings follow their column


def test_ints_and_floats_get_thousands_separators_strings_are_kept():
    t = viz.table([[1234567, 1234.5, "1234567", np.int64(2048), None]], list("abcde"))
    assert t.rows == [["1,234,567", "1,234.5", "1234567", "2,048", ""]]


def test_explicit_alignment_letters_or_words():
    t = viz.table([["a", 1, 2]], ["x", "y", "z"], align="rcl")
    assert t.align == ["right", "center", "left"]
    assert viz.table([["a", 1]], ["x", "y"], align=["center", "left"]).align == ["center", "left"]
    with pytest.raises(ValueError, match=r"align='rl' gives 2 alignments for 3 columns"):
        viz.table([["a", 1, 2]], ["x", "y", "z"], align="rl")
    with pytest.raises(ValueError, match=r"align=.*unknown alignment 'middle'"):
        viz.table([["a", 1]], ["x", "y"], align=["left", "middle"])


def test_text_is_escaped():
    t = viz.table([["<script>alert(1)</script>", "a & b"]], ["<b>name</b>", "q"],
                  caption="x < y & \"z\"")
    assert "<script>" not in t.data and "<b>" not in t.data
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in t.data and "a &amp; b" in t.data
    assert "&lt;b&gt;name&lt;/b&gt;" in t.data
    assert "x &lt; y &amp; &quot;z&quot;" in t.data
    assert repr(t).splitlines()[0] == 'x < y & "z"'   # the text form is not escaped


def test_caption():
    t = viz.table([[1]], ["n"], caption="Parameters, bias excluded")
    assert re.search(r"<caption[^>]*>Parameters, bias excluded</caption>", t.data)
    assert t.caption == "Parameters, bias excluded"
    assert "<caption" not in viz.table([[1]], ["n"]).data


def test_ragged_rows_raise_naming_the_argument():
    with pytest.raises(ValueError, match=r"rows\[1\] has 2 cells but columns has 3"):
        viz.table([[1, 2, 3], [1, 2]], ["a", "b", "c"])
    with pytest.raises(ValueError, match=r"rows\[0\] has 4 cells"):
        viz.table([[1, 2, 3, 4]], ["a", "b", "c"])


@pytest.mark.parametrize("rows, columns, match", [
    ("abc", ["a"], r"rows=str must be a sequence of rows"),
    (5, ["a"], r"rows=int must be a sequence"),
    (["ab"], ["a"], r"rows\[0\]='ab' must be a sequence of cells"),
    ([[1]], "a", r"columns='a' must be a sequence of headings"),
    ([[1]], [1], r"columns\[0\]=1 must be a str"),
])
def test_bad_types_raise_type_error(rows, columns, match):
    with pytest.raises(TypeError, match=match):
        viz.table(rows, columns)


def test_no_columns_and_bad_caption():
    with pytest.raises(ValueError, match=r"columns=\[\] must name at least one column"):
        viz.table([], [])
    with pytest.raises(TypeError, match=r"caption=3 must be a str or None"):
        viz.table([[1]], ["a"], caption=3)


def test_empty_table_and_dash_cells():
    t = viz.table([], ["a", "b"])
    assert t.rows == [] and t.align == ["left", "left"] and "<tbody></tbody>" in t.data
    t = viz.table([["—", 3], [5, 4]], ["a", "b"])            # a dash does not make a column text
    assert t.align == ["right", "right"]


def test_numpy_rows_are_accepted():
    t = viz.table(np.array([[1, 2], [30, 40]]), ["a", "b"])
    assert t.rows == [["1", "2"], ["30", "40"]] and t.align == ["right", "right"]


def test_long_tables_show_twelve_rows_and_fold_the_rest():
    rows = [[f"layer{i}", i * 1000] for i in range(20)]
    t = viz.table(rows, ["layer", "MACs"], caption="twenty rows")
    shown, rest = t.data.split("<details", 1)
    assert shown.count("<tr>") == 1 + 12 and "layer11<" in shown and "layer12<" not in shown
    assert "Show the other 8 rows</summary>" in rest
    assert rest.count("<tr>") == 1 + 8 and "layer12<" in rest and "layer19<" in rest
    assert rest.count("<thead>") == 1 and "<caption" not in rest         # headings repeated once
    assert len(t.rows) == 20 and "layer19" in t.text                      # text repr keeps all
    assert "<details" not in viz.table(rows, ["layer", "MACs"], max_rows=None).data
    assert "<details" not in viz.table(rows[:12], ["layer", "MACs"]).data
    assert "Show the other 1 row</summary>" in viz.table(rows[:4], ["a", "b"], max_rows=3).data


def test_max_rows_is_checked():
    with pytest.raises(ValueError, match="max_rows=0"):
        viz.table([[1]], ["a"], max_rows=0)
    with pytest.raises(TypeError, match="max_rows=2.5"):
        viz.table([[1]], ["a"], max_rows=2.5)
