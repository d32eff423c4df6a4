"""Every link between the project's Markdown documents leads somewhere: the file exists and, for
a `#section` link, the file has a heading with that anchor (GitHub's rule: lower case, spaces to
hyphens, punctuation dropped). A renamed heading or moved file otherwise leaves a reader at a
dead end, which no other test notices."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOCUMENTS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
#: [text](target) outside code; images included. Targets with a scheme are not checked.
LINK = re.compile(r"(?<!\\)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.DOTALL | re.MULTILINE)
CODE = re.compile(r"`[^`\n]*`")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.MULTILINE)


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading's text."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for heading in HEADING.findall(FENCE.sub("", path.read_text(encoding="utf-8"))):
        base = anchor(heading)
        count = seen.get(base, 0)
        found.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return found


def links(path: Path) -> list[str]:
    text = CODE.sub("", FENCE.sub("", path.read_text(encoding="utf-8")))
    return LINK.findall(text)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_leads_to_a_file_and_heading(document: Path) -> None:
    dead = []
    for target in links(document):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        file_part, _, section = target.partition("#")
        linked = (document.parent / file_part).resolve() if file_part else document
        if not linked.exists():
            dead.append(f"{target}: no file {linked.relative_to(ROOT)}")
        elif section and linked.suffix == ".md" and section not in anchors(linked):
            dead.append(f"{target}: no heading with anchor #{section} in {linked.name}")
    assert dead == [], f"{document.relative_to(ROOT)}: dead links:\n" + "\n".join(dead)


def test_the_checks_see_links_and_headings() -> None:
    readme_links = links(ROOT / "README.md")
    assert any(t.startswith("docs/") for t in readme_links)
    assert anchor("The `send_template` action (WhatsApp)") == "the-send_template-action-whatsapp"
