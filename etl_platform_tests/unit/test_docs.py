"""The README stays a ten-minute read and the docs stay connected: README.md has at most 200 lines, links
each page of docs/ exactly once, names the two commands, and names only `make` targets and `etl-platform`
commands that exist; every relative link in README.md and docs/*.md reaches a file, and its anchor, if any,
a heading of that file. Plain file reading: no servers, milliseconds."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from etl_platform.cli import COMMANDS
from etl_platform_tests.conftest import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
MAX_README_LINES = 200

FENCE = re.compile(r"^\s*(```|~~~)")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
CODE_SPAN = re.compile(r"`[^`]*`")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
MAKE_TARGET = re.compile(r"\bmake ([a-z][a-z0-9-]*)")
CLI_COMMAND = re.compile(r"\betl-platform ([a-z][a-z-]*)")


def markdown_files() -> list[Path]:
    return [README, *sorted((PROJECT_ROOT / "docs").glob("*.md"))]


def prose_lines(text: str, code_spans: bool = False) -> list[str]:
    """The lines outside fenced code blocks, with inline code removed unless `code_spans`: a path or a
    `[x](y)` shown as code is not a link."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line if code_spans else CODE_SPAN.sub("", line))
    return lines


def links(path: Path) -> list[str]:
    return [target for line in prose_lines(path.read_text()) for target in LINK.findall(line)]


def anchors(path: Path) -> set[str]:
    """The anchors GitHub gives the headings of a markdown file: lower case, punctuation dropped (code
    backticks too), spaces as hyphens, a repeated heading suffixed -1, -2, ..."""
    seen: Counter[str] = Counter()
    found = set()
    for line in prose_lines(path.read_text(), code_spans=True):
        if m := HEADING.match(line):
            slug = re.sub(r"[^\w\- ]", "", m.group(2).strip().lower()).replace(" ", "-")
            found.add(f"{slug}-{seen[slug]}" if seen[slug] else slug)
            seen[slug] += 1
    return found


def broken_links(path: Path) -> list[str]:
    """Each relative link of `path` whose file, or whose anchor in that file, does not exist."""
    broken = []
    for target in links(path):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto: ... are not checked here
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no heading with the anchor #{anchor} in {linked.name}")
    return broken


def links_to_docs(readme: Path) -> Counter[Path]:
    """How many times the README links each markdown file, anchors or not."""
    counts: Counter[Path] = Counter()
    for target in links(readme):
        file_part = target.partition("#")[0]
        if file_part.endswith(".md") and not re.match(r"^[a-z][a-z0-9+.-]*:", file_part):
            counts[(readme.parent / file_part).resolve()] += 1
    return counts


def test_readme_is_at_most_200_lines():
    lines = len(README.read_text().splitlines())
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines; move detail into docs/"


def test_readme_links_every_docs_page_exactly_once():
    counts = links_to_docs(README)
    pages = sorted((PROJECT_ROOT / "docs").glob("*.md"))
    assert pages, "docs/ has no pages"
    wrong = {page.name: counts[page.resolve()] for page in pages if counts[page.resolve()] != 1}
    assert not wrong, f"README.md should link each docs page once; times linked: {wrong}"


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_relative_links_reach_a_file_and_a_heading(path: Path):
    assert not broken_links(path)


def test_readme_names_the_two_commands():
    text = README.read_text()
    assert "make run" in text and "make test" in text


def makefile_targets() -> set[str]:
    text = (PROJECT_ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z0-9-]*):", text, re.MULTILINE))


def test_make_targets_and_commands_named_in_the_docs_exist():
    targets = makefile_targets()
    assert {"run", "test", "dev"} <= targets
    unknown = set()
    for path in markdown_files():
        text = path.read_text()
        unknown |= {f"{path.name}: make {t}" for t in re.findall(MAKE_TARGET, text) if t not in targets}
        unknown |= {f"{path.name}: etl-platform {c}" for c in re.findall(CLI_COMMAND, text) if c not in COMMANDS}
    assert not unknown, f"named in the docs but not defined: {sorted(unknown)}"


def test_the_checks_catch_a_broken_link_a_missing_anchor_and_a_second_link(tmp_path: Path):
    """The checks above on a tree made to fail each of them (so a passing run means something)."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A\n\n## Known heading\n\n[missing](b.md) [bad anchor](a.md#nowhere)\n")
    readme = tmp_path / "README.md"
    readme.write_text(
        "[a](docs/a.md) and again [a](docs/a.md#known-heading), `[code](nowhere.md)`\n\n"
        "```\n[fenced](nowhere.md)\n```\n"
    )
    assert links_to_docs(readme)[(tmp_path / "docs" / "a.md").resolve()] == 2
    assert broken_links(readme) == []  # the anchor exists; code spans and fenced blocks are not links
    assert broken_links(tmp_path / "docs" / "a.md") == [
        "b.md: no such file",
        "a.md#nowhere: no heading with the anchor #nowhere in a.md",
    ]


def test_anchors_follow_githubs_rules(tmp_path: Path):
    page = tmp_path / "p.md"
    page.write_text(
        "# Run start-up: the options, measured\n## The instance: `dagster.yaml`\n## BLOCK_REASON\n"
        "## Pacing idiCORE's searches\n## Notes\n## Notes\n```\n# not a heading\n```\n"
    )
    assert anchors(page) == {
        "run-start-up-the-options-measured",
        "the-instance-dagsteryaml",
        "block_reason",
        "pacing-idicores-searches",
        "notes",
        "notes-1",
    }
