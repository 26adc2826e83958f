"""Every Markdown table the project writes renders with its columns intact (markdown-it-py, GFM tables)."""

from __future__ import annotations

from markdown_it import MarkdownIt

from verify._markdown import cell, table


def tables(md: str) -> list[list[list[str]]]:
    """Each table of ``md`` as rows of cell texts (header first), as a GFM renderer sees them."""
    out, rows, cur = [], None, None
    for tok in MarkdownIt("commonmark").enable("table").parse(md):
        if tok.type == "table_open":
            rows = []
        elif tok.type == "table_close":
            out.append(rows)
            rows = None
        elif tok.type == "tr_open":
            cur = []
        elif tok.type == "tr_close":
            rows.append(cur)
        elif tok.type == "inline" and cur is not None and rows is not None:
            cur.append(tok.content)
    return out


def assert_tables_keep_their_columns(md: str) -> list[list[list[str]]]:
    found = tables(md)
    assert found, "no table parsed"
    for t in found:
        width = len(t[0])
        assert all(len(r) == width for r in t), [r for r in t if len(r) != width]
    return found


def test_a_cell_with_bars_and_newlines_stays_one_cell():
    md = "\n".join(table(("statistic", "time"), [("max |z| 2.75", "1.0"), ("a\nb", "sup_t |w_SGD - w_flow|")]))
    (t,) = assert_tables_keep_their_columns(md)
    assert t[1:] == [["max |z| 2.75", "1.0"], ["a b", "sup_t |w_SGD - w_flow|"]]
    assert cell(cell("a|b")) == cell("a|b") == "a\\|b"          # escaping twice changes nothing


def test_the_unescaped_table_would_have_broken():
    """The check can fail: the old row text splits 'max |z|' into extra cells."""
    bad = "| claim | statistic | time |\n|---|---|---|\n| x | max |z| 2.75 | 1.0 |\n"
    (t,) = tables(bad)
    assert t[1][1] == "max"


def test_experiment_summary_table_renders():
    from verify._experiments import _markdown

    doc = {"title": "T", "experiment": "e", "preset": "quick", "seeds": 3, "device": "cpu", "source": "s", "figures": [],
           "verdicts": [{"name": "gap", "statement": "sup_t |w_SGD - w_flow| shrinks", "status": "holds", "asserted": True,
                         "direction": "below", "threshold": 0.5, "detail": "",
                         "estimate": {"mean": 0.1, "lo": 0.05, "hi": 0.2, "n": 3}}]}
    (t,) = assert_tables_keep_their_columns(_markdown(doc))
    assert t[1][0] == "sup_t |w_SGD - w_flow| shrinks"


def test_report_counterexample_of_a_scalar_claim_names_no_component_and_explains_se_zero():
    from verify._report import _counterexample_lines

    x = {"component": 0, "index": [], "std_error": [0.0], "params": {"u": 1.0}, "shrunk": True, "label": "shrunk",
         "closed_form": [0.5], "estimate": [0.0], "statistic": float("inf"), "threshold": 5.3, "run_seed": 0,
         "example_seed": 1, "command": "theorycheck validate f.py"}
    line = _counterexample_lines({"counterexample": x})[1]
    assert "component" not in line and "standard error 0: every sample was equal" in line
    vector = dict(x, index=[1], std_error=[0.1], closed_form=[0.5], estimate=[0.2])
    line = _counterexample_lines({"counterexample": vector})[1]
    assert line.startswith("component [1]: ") and "standard error 0" not in line
