"""The documentation: a README a newcomer can read (at most 350 lines), reference pages in docs/, every one linked
from the README, links between them that resolve (files and #anchors), and docs/claims.md generated from the
built-in Claims, never stale."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest

from verify._docs import WRITE_COMMAND, claims_markdown, github_slug, write_claims_page

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
CLAIMS_PAGE = DOCS / "claims.md"
MAX_README_LINES = 350
PAGES = [README, *sorted(DOCS.glob("*.md"))]

_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", flags=re.M | re.S)
_CODE_SPAN = re.compile(r"`+[^`\n]*`+")
_LINK = re.compile(r"(?<!\\)\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def _prose(text: str) -> str:
    """The text with fenced code blocks blanked out (their lines kept, so line numbers stay)."""
    return _FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def _anchors(path: Path) -> set[str]:
    """The anchors GitHub makes for the headings of ``path`` (a repeated slug gets -1, -2, ...)."""
    seen: dict[str, int] = {}
    anchors = set()
    for line in _prose(path.read_text(encoding="utf-8")).splitlines():
        m = re.match(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        slug = github_slug(m.group(1))
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


def _links(path: Path) -> list[tuple[int, str]]:
    """(line number, target) of every inline Markdown link outside code blocks and code spans."""
    out = []
    for number, line in enumerate(_prose(path.read_text(encoding="utf-8")).splitlines(), 1):
        for m in _LINK.finditer(_CODE_SPAN.sub("", line)):
            out.append((number, m.group(1)))
    return out


def _is_relative(target: str) -> bool:
    return not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) and not target.startswith("//")


def test_readme_is_short():
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_README_LINES, (
        f"README.md has {lines} lines (at most {MAX_README_LINES}): move reference material to a docs/ page "
        "and link it from the README's Reference section")


def test_readme_keeps_the_sections_a_newcomer_and_ci_need():
    text = README.read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", _prose(text), flags=re.M)
    for needed in ("Install and run, test", "Writing a claim: the derivation-file format",
                   "How a verdict is reached", "Bad input", "Command line", "Reference"):
        assert needed in headings, f"README.md lost its section {needed!r}"
    first_fence = re.search(r"^```(\w*)$", text, flags=re.M)
    assert first_fence and first_fence.group(1) == "sh", "README.md's first code block must be the set-up ```sh block"


def test_docs_folder_exists_with_pages():
    assert DOCS.is_dir() and len(PAGES) > 2, "docs/ and its reference pages are missing"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    broken = []
    for number, target in _links(page):
        if not _is_relative(target):
            continue
        file_part, _, anchor = target.partition("#")
        dest = (page.parent / unquote(file_part)).resolve() if file_part else page
        where = f"{page.relative_to(ROOT)}:{number}: {target}"
        if not dest.exists():
            broken.append(f"{where} (no such file)")
        elif anchor and dest.suffix == ".md" and unquote(anchor) not in _anchors(dest):
            broken.append(f"{where} (no heading with anchor #{anchor} in {dest.relative_to(ROOT)})")
        elif anchor and dest.suffix != ".md":
            broken.append(f"{where} (an anchor into a file that is not Markdown)")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_links_are_relative():
    absolute = [f"{p.relative_to(ROOT)}:{n}: {t}" for p in PAGES for n, t in _links(p)
                if _is_relative(t) and t.startswith("/")]
    assert not absolute, "links between the pages must be relative:\n" + "\n".join(absolute)


def test_every_docs_page_is_linked_from_the_readme():
    linked = {(README.parent / unquote(t.partition("#")[0])).resolve()
              for _, t in _links(README) if _is_relative(t) and t.partition("#")[0]}
    missing = [p.name for p in sorted(DOCS.glob("*.md")) if p.resolve() not in linked]
    assert not missing, f"docs pages not linked from README.md (add a line to its Reference section): {missing}"


def test_slugs_follow_github():
    assert github_slug("Install and run, test") == "install-and-run-test"
    assert github_slug("JSON schema (`theorycheck.results/1`)") == "json-schema-theorycheckresults1"
    assert github_slug("### `population-gradient-mc`".lstrip("# ")) == "population-gradient-mc"
    assert github_slug("Soft committee machines, g = erf(x/√2)") == "soft-committee-machines-g--erfx2"


def test_claims_page_is_up_to_date():
    assert CLAIMS_PAGE.is_file(), f"{CLAIMS_PAGE} is missing: run .venv/bin/{WRITE_COMMAND}"
    stale = CLAIMS_PAGE.read_text(encoding="utf-8") != claims_markdown()
    assert not stale, ("docs/claims.md is stale (a built-in claim, or the family prose in verify/_docs.py, was "
                       f"added, removed or changed): run .venv/bin/{WRITE_COMMAND}")


def test_claims_page_covers_every_claim():
    from verify.claims import builtin_claims

    text = CLAIMS_PAGE.read_text(encoding="utf-8")
    claims = builtin_claims()
    headings = set(re.findall(r"^### `([^`]+)`$", text, flags=re.M))
    assert headings == set(claims)
    for claim in claims.values():
        section = text.split(f"### `{claim.name}`\n", 1)[1].split("\n### ", 1)[0]
        assert f"- expected verdict: {'**refuted**' if claim.expected == 'refuted' else 'verified'}" in section
        assert f"- method: `{claim.method}`" in section
        assert f"- examples: {claim.examples} " in section
        if claim.statement:
            assert claim.statement.strip() in section
        if claim.notes:
            assert "Notes: " in section


def test_write_command(tmp_path):
    """write_claims_page writes the same text atomically (no temporary file left behind); the module's CLI
    refuses anything but --write / --check."""
    written = write_claims_page(tmp_path / "claims.md")
    assert written.read_text(encoding="utf-8") == claims_markdown()
    assert [p.name for p in tmp_path.iterdir()] == ["claims.md"]
    bad = subprocess.run([sys.executable, "-m", "verify._docs", "--nonsense"], cwd=ROOT, capture_output=True,
                         text=True)
    assert bad.returncode == 2 and WRITE_COMMAND in bad.stderr
