"""The README is a tour and docs/ the reference: its config must run, every key must be
documented, and every link between the pages must lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import ChannelConfig, Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _prose(path: Path) -> str:
    """The page without its fenced code blocks (a `# 202 …` in a shell example is no heading)."""
    return FENCE.sub("", path.read_text(encoding="utf-8"))


def _anchors(path: Path) -> set[str]:
    """GitHub's anchors for the page's headings: lower case, punctuation dropped, spaces to '-'."""
    headings = re.findall(r"^#+ (.+)$", _prose(path), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def _table_keys(path: Path) -> set[str]:
    """Every `key` named in the first cell of a table row (`a` / `b` rows name both)."""
    cells = re.findall(r"^\| ([^|]+) \|", path.read_text(encoding="utf-8"), re.MULTILINE)
    return {key for cell in cells for key in re.findall(r"`\[*([a-z_]+)\]*`", cell)}


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_relative_link_leads_to_a_file_and_heading(page: Path) -> None:
    broken = []
    for target in LINK.findall(_prose(page)):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        file_part, _, anchor = target.partition("#")
        linked = (page.parent / file_part).resolve() if file_part else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{target}: no heading #{anchor}")
    assert not broken, f"{page.name}: {broken}"


def test_the_readme_links_every_docs_page() -> None:
    linked = set(LINK.findall(_prose(ROOT / "README.md")))
    pages = {f"docs/{page.name}" for page in (ROOT / "docs").glob("*.md")}
    assert pages - linked == set()


def test_the_readmes_minimal_config_loads(tmp_path: Path) -> None:
    """The tour's config is the one a new user copies first: it must start."""
    block = re.search(r"^```toml\n(.*?)^```", (ROOT / "README.md").read_text(), re.DOTALL | re.M)
    assert block, "README.md has no ```toml block"
    config = tmp_path / "newsbot.toml"
    config.write_text(block.group(1), encoding="utf-8")
    settings = load_settings(str(config))
    assert [feed.section for feed in settings.feeds] == ["parliament"]


def test_every_config_key_is_in_the_configuration_reference() -> None:
    documented = _table_keys(ROOT / "docs" / "configuration.md")
    environment = {"telegram_bot_token", "database_url", "bot_api_url"}  # the environment table
    top_level = set(Settings.model_fields) - environment
    assert top_level - documented == set()
    assert set(ChannelConfig.model_fields) - documented == set()
