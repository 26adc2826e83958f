"""The README's derivation-file example, as a newcomer copies it: verified as written, refuted with the slip the
README suggests (theta -> pi - theta), with a shrunk counterexample."""

from __future__ import annotations

import re
from pathlib import Path

from verify import check, load_claims

README = Path(__file__).resolve().parent.parent / "README.md"


def _example() -> str:
    blocks = re.findall(r"```python\n(# my_derivation\.py\n.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) == 1, "README.md must have exactly one ```python block starting with '# my_derivation.py'"
    return blocks[0]


def test_readme_example_is_verified(tmp_path):
    path = tmp_path / "my_derivation.py"
    path.write_text(_example())
    (claim,) = load_claims(str(path))
    r = check(claim, seed=0, source=str(path))
    assert r.verdict == "verified", (r.error, r.statistic)


def test_readme_example_slip_is_refuted_with_a_shrunk_counterexample(tmp_path):
    text = _example()
    line = "    theta = sp.acos((w.T * w_star)[0] / (nw * ns))\n"
    assert line in text, "the README example's theta line changed: update this test's slip"
    path = tmp_path / "my_slip.py"
    path.write_text(text.replace(line, "    theta = sp.pi - sp.acos((w.T * w_star)[0] / (nw * ns))\n"))
    (claim,) = load_claims(str(path))
    r = check(claim, seed=0, source=str(path))
    assert r.verdict == "refuted" and r.counterexample["shrunk"], r.error
