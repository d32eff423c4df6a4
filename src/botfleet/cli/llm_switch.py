"""`botfleet validate`: a flow and a tenant that disagree on the LLM, either way.

The LLM is off unless the tenant's `llm.enabled` is true (`connectors.llm` alone only picks the
provider), so its `llm_fallback: true` states never ask it: free text gets their `fallback`,
served and in `botfleet chat` and `botfleet test` alike. The other way round, an enabled LLM
is asked only from `llm_fallback: true` states, so a flow without one never asks it (the
`botfleet new` starter has none). Warnings, not errors: a tenant may keep its LLM off on
purpose for a while, or enable it before the flow that uses it is published.
"""

from __future__ import annotations

from botfleet.flows.schema import FlowSpec

__all__ = ["unasked_llm", "unused_llm"]


def unasked_llm(flow: FlowSpec) -> str | None:
    """What to say to a tenant whose LLM is off about its flow's `llm_fallback: true` states,
    or None when it has none."""
    states = [name for name, state in flow.states.items() if state.llm_fallback]
    if not states:
        return None
    if len(states) == 1:
        named = f"state {states[0]} (`llm_fallback: true`) never asks it"
    else:
        named = f"states {', '.join(states)} (`llm_fallback: true`) never ask it"
    return (
        f"the LLM is off, so the flow's {named}: free text gets the state's `fallback` "
        "instead; add `llm: {enabled: true}` to this file to answer questions from the "
        "knowledge (`connectors.llm` only picks the provider)"
    )


def unused_llm(flow: FlowSpec) -> str | None:
    """What to say to a tenant whose LLM is on about a flow with no `llm_fallback: true`
    state, or None when it has one."""
    if any(state.llm_fallback for state in flow.states.values()):
        return None
    return (
        "the LLM is on, but no state of the flow has `llm_fallback: true`, so it is never "
        "asked: free text gets each state's `fallback`; add `llm_fallback: true` to the "
        "states (a menu, typically) whose free text should be answered from the knowledge "
        "(docs/llm.md)"
    )
