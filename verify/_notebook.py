"""A claim's result in Jupyter: ``ClaimResult._repr_html_`` shows what the report's section shows.

``verify.check(claim, seed=...)`` returns a ``ClaimResult``; as the last expression of a notebook cell it renders
as the report's section for that claim (``_report.claim_html``: verdict badge, confidence, statement as MathML,
reference, method, derivation, counterexample with its replay command) with its figures (sweep, convergence,
trajectory) embedded as PNG data URIs, since a notebook has no report folder beside it. The report's style
sheet comes along, scoped to the result's own ``div`` (its page-wide ``body`` rule left out), so it does not
restyle the notebook.
"""

from __future__ import annotations

import base64
import re
import tempfile
from pathlib import Path

__all__ = ["result_html"]


def _scoped_css(css: str) -> str:
    """The report's rules prefixed with ``.theorycheck`` (the page-wide ``body`` rule dropped)."""
    rules = re.findall(r"([^{}]+)\{([^{}]*)\}", css)
    out = []
    for selectors, body in rules:
        sel = [s.strip() for s in selectors.split(",") if s.strip() and s.strip() != "body"]
        if sel:
            out.append(",".join(f".theorycheck {s}" for s in sel) + "{" + body + "}")
    return "".join(out)


def result_html(result: dict) -> str:
    """The HTML of one claim's result (a ``ClaimResult.to_json()`` dict), figures inline, section open."""
    import matplotlib.pyplot as plt

    from ._report import CSS, FIGURES, FONTS, claim_html

    images = []
    with tempfile.TemporaryDirectory() as tmp, plt.rc_context(FONTS):
        for kind, draw in FIGURES:
            path = Path(tmp) / f"{kind}.png"
            if draw(result, path):
                data = base64.b64encode(path.read_bytes()).decode("ascii")
                images.append(f'<figure><img alt="{kind}" src="data:image/png;base64,{data}"></figure>')
    section = claim_html(result, None, expanded=True)
    if images:      # inside the section, before it closes
        cut = section.rfind("</details>")
        section = section[:cut] + "".join(images) + section[cut:]
    return f'<div class="theorycheck"><style>{_scoped_css(CSS)}</style>{section}</div>'
