"""`mock_llm`: a scriptable LLM for tests, demos and dev tenants (no keys, no network).

What it answers, first match wins:

1. a scripted rule whose regex matches the question: a canned answer, out of scope, an error
   (`timeout`, `unavailable`, `rejected`, `rate_limited`), a delay, chosen token counts;
2. the next of `replies` (in scope), then `default_reply` forever once they run out;
3. otherwise it looks the question up in the knowledge document: the line sharing the most
   words with the question is the answer (in scope; headings are never answers); no shared word
   means out of scope.

Token counts are estimated from the text unless a rule sets them. The knowledge counts as cached
after the first call with the same text, like a provider's prompt cache. Every call is kept
in `.calls`. Tenant config:

    llm:
      enabled: true
      provider: mock_llm
      answers:
        - {pattern: "(?i)parking", text: "Park on Calle Mayor 20."}
        - {pattern: "(?i)refund", in_scope: false}
        - {pattern: "(?i)slow", delay_s: 2}
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from botfleet.adapters.llm.errors import LLMRateLimited
from botfleet.adapters.llm.knowledge import estimate_tokens
from botfleet.adapters.llm.options import LLMOptions, MockAnswer
from botfleet.domain.errors import (
    ConnectorError,
    ConnectorRejected,
    ConnectorTimeout,
    ConnectorUnavailable,
)
from botfleet.ports.connectors import Answer, LLMContext, LLMUsage

#: Tokens the mock charges for its (imaginary) rules, like a real prompt's fixed part.
RULES_TOKENS = 300
_WORD = re.compile(r"\w+")
# Words too common to tell one knowledge line from another (shorter words are ignored anyway).
_COMMON_WORDS = """
what when where which does from there their them they will would could should about into tell
give please want like need know just also some more than then only very your have this that
with para como cual cuando donde tiene tienen este esta esto unos unas
"""
_STOPWORDS = frozenset(_COMMON_WORDS.split())


def _fold(text: str) -> str:
    """Lower case without accents, so "Horário" and "horario" are the same word."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def keywords(text: str) -> set[str]:
    return {w for w in _WORD.findall(_fold(text)) if len(w) >= 4 and w not in _STOPWORDS}


def _related(a: str, b: str) -> bool:
    """Same word, or one a prefix of the other ("open" / "opening", "price" / "prices")."""
    return a.startswith(b) or b.startswith(a)


def lookup(question: str, knowledge: str) -> str | None:
    """The knowledge line sharing the most keywords with the question, or None."""
    wanted = keywords(question)
    best, best_score = None, 0
    for raw in knowledge.splitlines():
        # A Markdown heading names a topic, it answers nothing: "do you cut kids' hair?" got
        # the document's title ("Bella Hair Studio") for sharing "hair" with it.
        if raw.lstrip().startswith("#"):
            continue
        line = raw.strip().lstrip("-*> ").strip()
        if not line:
            continue
        have = keywords(line)
        # An exact word counts double a related one ("haircut" beats "hair" for "haircut").
        score = sum(2 if w in have else int(any(_related(w, h) for h in have)) for w in wanted)
        if score > best_score:
            best, best_score = line, score
    return best


@dataclass(frozen=True, slots=True)
class MockCall:
    question: str
    knowledge: str
    context: LLMContext


_ERRORS: dict[str, type[ConnectorError]] = {
    "timeout": ConnectorTimeout,
    "unavailable": ConnectorUnavailable,
    "rejected": ConnectorRejected,
}


@dataclass
class MockLLM:
    """`LLMConnector` driven by rules, replies or a knowledge lookup (see the module doc)."""

    rules: list[MockAnswer] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    default_reply: str | None = None
    delay_s: float = 0.0
    use_knowledge: bool = True
    calls: list[MockCall] = field(default_factory=list)
    category: str = "llm"
    _cached_knowledge: str | None = None

    def on(self, pattern: str, text: str = "", **script: object) -> MockLLM:
        """Add a rule (`in_scope`, `error`, `delay_s`, token counts); returns self to chain."""
        self.rules.append(MockAnswer.model_validate({"pattern": pattern, "text": text, **script}))
        return self

    async def answer(self, question: str, knowledge: str, context: LLMContext) -> Answer:
        self.calls.append(MockCall(question, knowledge, context))
        rule = next((r for r in self.rules if re.search(r.pattern, question)), None)
        delay = rule.delay_s if rule and rule.delay_s else self.delay_s
        if delay:
            await asyncio.sleep(delay)
        if rule is not None and rule.error is not None:
            if rule.error == "rate_limited":
                raise LLMRateLimited("mock_llm", retry_after=1.0)
            raise _ERRORS[rule.error](f"mock_llm: scripted {rule.error}")
        in_scope, text = self._choose(rule, question, knowledge)
        usage = self._usage(rule, question, knowledge, text)
        return Answer(text=text if in_scope else "", in_scope=in_scope, usage=usage)

    def _choose(self, rule: MockAnswer | None, question: str, knowledge: str) -> tuple[bool, str]:
        if rule is not None:
            return rule.in_scope, rule.text
        if self.replies:
            return True, self.replies.pop(0)
        if self.default_reply is not None:
            return True, self.default_reply
        found = lookup(question, knowledge) if self.use_knowledge else None
        return (True, found) if found else (False, "")

    def _usage(self, rule: MockAnswer | None, question: str, knowledge: str, text: str) -> LLMUsage:
        doc = estimate_tokens(knowledge)
        cached = doc if knowledge and knowledge == self._cached_knowledge else 0
        self._cached_knowledge = knowledge
        estimated = LLMUsage(
            input_tokens=RULES_TOKENS + estimate_tokens(question) + doc - cached,
            output_tokens=estimate_tokens(text) + 10,
            cached_tokens=cached,
        )
        if rule is None:
            return estimated
        return LLMUsage(
            input_tokens=_pick(rule.input_tokens, estimated.input_tokens),
            output_tokens=_pick(rule.output_tokens, estimated.output_tokens),
            cached_tokens=_pick(rule.cached_tokens, estimated.cached_tokens),
        )


def _pick(chosen: int | None, estimated: int) -> int:
    return estimated if chosen is None else chosen


def build_mock(options: LLMOptions, extra_rules: Iterable[MockAnswer] = ()) -> MockLLM:
    """The `mock_llm` adapter from tenant options (the control plane's names work too)."""
    return MockLLM(
        rules=[*options.answers, *extra_rules],
        replies=list(options.replies),
        default_reply=options.default_reply,
        delay_s=options.delay_s,
    )
