"""docs/ cannot fall behind: its examples run as shown, every section cited exists, and the names the code
accepts (top-level keys, layer types, activations, exit codes) are each documented."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from conftest import ROOT, run_cli

from lstm_cli.activations import ACTIVATIONS
from lstm_cli.config import LAYER_TYPES, TOP_KEYS
from lstm_cli.errors import ExitCode

DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
INTERNAL_ERROR = 70  # the code for a bug in lstm-cli, which ExitCode may not list
# `docs/config.md#bidirectional` in code and the README; `config.md#masks` and `#masks` within docs/.
CITATION = re.compile(r"docs/([\w-]+\.md)#([\w-]+)")
LINK = re.compile(r"\]\((?:([\w-]+\.md))?#([\w-]+)\)")


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as `-`."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path, level: int = 1) -> set[str]:
    """The anchors of the page's headings of `level` and below (`##` is level 2)."""
    prose = re.sub(r"```.*?```", "", text(page), flags=re.S)
    return {slug(heading) for heading in re.findall(rf"^#{{{level},6}} (.+)$", prose, re.M)}


def console_examples() -> list[tuple[str, str, str]]:
    """(page, command, the output shown after it) for each `$ ` line in the pages' console blocks."""
    examples = []
    for page in PAGES:
        for block in re.findall(r"```console\n(.*?)```", text(page), re.S):
            for chunk in re.split(r"^(?=\$ )", block, flags=re.M):
                if chunk.startswith("$ "):
                    command, _, shown = chunk.partition("\n")
                    examples.append((page.name, command[2:], shown))
    return examples


@pytest.mark.parametrize(("page", "command", "shown"), console_examples(), ids=lambda value: value[:60])
def test_each_console_example_prints_what_the_page_shows(
    page: str, command: str, shown: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    argv = shlex.split(command)
    assert argv[0] == "lstm-cli", f"{page}: console examples run lstm-cli only"
    run = run_cli(*argv[1:])
    assert run.exit_code in (0, 1), run.stderr
    assert [line.rstrip() for line in run.stdout.splitlines()] == shown.splitlines()


def cited() -> list[tuple[str, str, str]]:
    """(where, page, anchor) for every section cited in the package, the tests, the README and docs/."""
    found = []
    sources = [
        ROOT / "README.md",
        *sorted((ROOT / "lstm_cli").rglob("*.py")),
        *sorted((ROOT / "tests").glob("*.py")),
    ]
    for path in sources:
        for page, anchor in CITATION.findall(text(path)):
            found.append((str(path.relative_to(ROOT)), page, anchor))
    for path in PAGES:
        for page, anchor in LINK.findall(text(path)):
            found.append((f"docs/{path.name}", page or path.name, anchor))
    return found


def test_every_cited_section_exists() -> None:
    missing = [
        f"{where}: docs/{page}#{anchor}"
        for where, page, anchor in cited()
        if not (DOCS / page).exists() or anchor not in anchors(DOCS / page)
    ]
    assert missing == []


def test_the_index_lists_every_section_of_every_page() -> None:
    listed = LINK.findall(text(DOCS / "README.md"))
    for page in PAGES:
        if page.name != "README.md":
            sections = anchors(page, level=2)
            assert sections - {anchor for name, anchor in listed if name == page.name} == set(), page.name


def test_the_config_page_documents_every_key_type_and_activation() -> None:
    page = text(DOCS / "config.md")
    names = [*TOP_KEYS, *LAYER_TYPES, *ACTIVATIONS]
    assert [name for name in names if f"`{name}`" not in page] == []


def test_the_errors_page_documents_every_exit_code() -> None:
    table = re.findall(r"^\| (\d+) \|", text(DOCS / "errors.md"), re.M)
    assert sorted(int(code) for code in table) == sorted({*(int(code) for code in ExitCode), INTERNAL_ERROR})
