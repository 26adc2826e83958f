"""ClaimResult._repr_html_ in Jupyter: a small notebook run by nbclient shows verdict, statement, counterexample
and figures."""

from __future__ import annotations

import re

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

pytestmark = pytest.mark.xdist_group("test_notebook")

CELLS = [
    "import torch\ntorch.set_num_threads(1)\nfrom verify import check\nfrom verify.claims import builtin_claims\n"
    "claims = builtin_claims()",
    "check(claims['batchnorm-backward-ioffe-szegedy-as-printed'], seed=0)",       # a refutation
    "import dataclasses\n"
    "check(dataclasses.replace(claims['population-gradient-mc'], examples=2, derivation=None), seed=0)",  # a sweep
]


@pytest.fixture(scope="session")
def outputs():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in CELLS])
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    html = []
    for cell in nb.cells[1:]:
        data = [o["data"] for o in cell.outputs if o.get("output_type") == "execute_result"]
        assert data and "text/html" in data[0], cell.outputs
        html.append(data[0]["text/html"])
    return html


def test_a_refutation_shows_verdict_statement_and_counterexample(outputs):
    html = outputs[0]
    assert 'class="theorycheck"' in html and "<math" in html                  # the statement as MathML
    assert "refuted as expected" in html
    assert "Counterexample" in html and "theorycheck run batchnorm-backward-ioffe-szegedy-as-printed" in html
    assert "<style>" in html and not re.search(r"(^|[}])\s*body\s*\{", html.split("<style>")[1].split("</style>")[0])


def test_figures_are_inline_images(outputs):
    html = outputs[1]
    assert "verified" in html
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) >= 2                                                  # the sweep and the convergence trace
    import base64
    assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in images)
