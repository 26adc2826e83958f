"""The worked examples of docs/bounds-and-orders.md run as written: every ```python block that starts with
``# NAME.py`` is a derivation file, and each of its claims comes out as it says (``expected=``), the order claim
with the measured order the page quotes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from verify import check, load_claims

PAGE = Path(__file__).resolve().parents[1] / "docs" / "bounds-and-orders.md"
BLOCKS = re.findall(r"```python\n(# (\S+\.py)\n.*?)```", PAGE.read_text(), flags=re.S)


def test_the_page_has_its_examples():
    assert [name for _, name in BLOCKS] == ["tail_bound.py", "gd_flow_order.py"]


@pytest.mark.parametrize("code, name", BLOCKS, ids=[name for _, name in BLOCKS])
def test_worked_example_verdicts(code, name, tmp_path):
    path = tmp_path / name
    path.write_text(code)
    claims = load_claims(str(path))
    assert len(claims) == 2
    for claim in claims:
        r = check(claim, seed=0)
        assert r.verdict == claim.expected, (claim.name, r.verdict, r.error)
        if claim.limit is not None and r.verdict == "verified":
            assert abs(r.order["measured_min"] - 1) < 0.05      # "slowest measured order 1"
        if claim.limit is not None and r.verdict == "refuted":
            assert abs(r.counterexample["order"]["measured"] - 1) < 0.05
