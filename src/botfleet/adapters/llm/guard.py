"""Guards around the LLM: what goes in (the question) and what may come out (the answer).

In: control characters removed, whitespace collapsed, a maximum length, and angle brackets
replaced so the text cannot open or close the prompt's tags. Out: an answer is refused when it
leaks the rules, imitates a structured reply or a tool call, or contains the prompt's tags;
the caller then sends the safe fallback. Accepted answers are turned into plain text and cut
to the channel's length at a sentence or word boundary. Pure functions, no I/O.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass

ELLIPSIS = "…"

# Control, bidi and zero-width characters, and the invisible ones a text made to look empty is
# written with: soft hyphen, combining grapheme joiner, Arabic letter mark, the Hangul and
# Khmer fillers, Mongolian vowel separator, byte order mark.
_CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e"
    r"\u200b-\u200f\u202a-\u202e\u2060-\u2069\u3164\ufeff\uffa0]"
)
# The braille blank is braille's space.
_SPACES = re.compile(r"[ \t\r\f\v\u2800]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_PROMPT_TAGS = re.compile(r"</?\s*(knowledge|question|history|rules|system)\b[^>]*>", re.I)
_KNOWLEDGE_TAG = re.compile(r"</?\s*knowledge\b[^>]*>", re.I)
# Signs of a reply that imitates a structured answer or a tool/function call.
_SPOOF = re.compile(
    r"\"?in_scope\"?\s*[:=]|tool_use|tool_calls?\b|function_call|<\s*/?\s*(tool|function)"
    r"|\bBF-RULES\b",
    re.I,
)
_SENTENCE_END = re.compile(r"[.!?…](?=\s|$)")


@dataclass(frozen=True, slots=True)
class QuestionCheck:
    """The cleaned question, or why it may not be sent (`problem` is a short event name)."""

    text: str
    problem: str | None = None


def clean(text: str) -> str:
    """Normalise Unicode (NFC), drop control and bidi characters, collapse spaces."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n")
    text = _CONTROL.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


#: `QuestionCheck.problem` of a question over the length allowed.
QUESTION_TOO_LONG = "question_too_long"


def check_question(question: str, max_chars: int) -> QuestionCheck:
    """A question is sent only when, once cleaned, it is non-empty and at most `max_chars`."""
    text = clean(question)
    if not text:
        return QuestionCheck("", "empty_question")
    if len(text) > max_chars:
        return QuestionCheck(text, QUESTION_TOO_LONG)
    return QuestionCheck(text)


def neutralise(text: str) -> str:
    """Contact-written text as prompt data: angle brackets become look-alikes (no tags)."""
    return clean(text).replace("<", "‹").replace(">", "›")


def neutralise_knowledge(text: str) -> str:
    """The tenant's markdown may use HTML; only a knowledge tag could break the layout."""
    return _KNOWLEDGE_TAG.sub(lambda m: m.group(0).replace("<", "‹").replace(">", "›"), text)


def answer_problem(text: str, rules: str) -> str | None:
    """Why an in-scope answer must not be sent, or None when it may be."""
    if not plain_text(text):  # blank, or nothing left once made plain ("```", "\u200b")
        return "empty_answer"
    if _PROMPT_TAGS.search(text):
        return "prompt_tags_in_answer"
    if _SPOOF.search(text) or _looks_like_json(text):
        return "structured_reply_in_answer"
    if _quotes_rules(text, rules):
        return "rules_leaked"
    return None


def _looks_like_json(text: str) -> bool:
    stripped = text.strip().strip("`")
    if not stripped.startswith(("{", "[")):
        return False
    try:
        json.loads(stripped.removeprefix("json").strip())
    except ValueError:
        return stripped.endswith(("}", "]"))
    return True


#: A run of this many words of a rule, found in an answer, is a quote of the rules.
RULE_QUOTE_WORDS = 8
_WORDS = re.compile(r"[^\W_]+")


def _words(text: str) -> list[str]:
    # `_` separates words too: "in_scope" and "in scope" are the same quote.
    return _WORDS.findall(text.lower())


def _quotes_rules(text: str, rules: str) -> bool:
    """True when the answer repeats a stretch of the rules (a leaked system prompt): a whole
    rule sentence of 40 characters or more, or any run of `RULE_QUOTE_WORDS` words of a rule
    (its sentences included)."""
    answer = f" {' '.join(_words(text))} "
    for line in rules.split("\n"):
        for sentence in re.split(r"(?<=[.:])\s+", line):
            piece = " ".join(_words(sentence))
            if len(piece) >= 40 and f" {piece} " in answer:
                return True
        words = _words(line)
        for start in range(len(words) - RULE_QUOTE_WORDS + 1):
            if f" {' '.join(words[start : start + RULE_QUOTE_WORDS])} " in answer:
                return True
    return False


_FENCE_LINE = re.compile(r"^\s*```.*$", re.M)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*", re.M)
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")
_BULLET = re.compile(r"^\s*[*+]\s+", re.M)


def plain_text(text: str) -> str:
    """Markdown the model used anyway, flattened to what any channel shows as-is."""
    text = _FENCE_LINE.sub("", text)
    text = _HEADING.sub("", text)
    text = _EMPHASIS.sub(r"\2", text)
    text = _LINK.sub(r"\1 (\2)", text)
    text = _BULLET.sub("- ", text)
    text = text.replace("`", "")
    return clean(text)


def cap(text: str, limit: int) -> str:
    """At most `limit` characters, cut after a sentence if one ends late enough, else a word."""
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return text[:limit]
    room = text[: limit - len(ELLIPSIS)]
    ends = [m.end() for m in _SENTENCE_END.finditer(room)]
    if ends and ends[-1] >= len(room) // 2:
        return room[: ends[-1]].rstrip()
    space = room.rfind(" ")
    if space >= len(room) // 2:
        room = room[:space]
    return room.rstrip(" ,;:-") + ELLIPSIS
