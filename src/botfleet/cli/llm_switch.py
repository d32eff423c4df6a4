"""`botfleet validate`: a flow that falls back to the LLM under a tenant whose LLM is off.

The LLM is off unless the tenant's `llm.enabled` is true (`connectors.llm` alone only picks the
provider), so its `llm_fallback: true` states never ask it: free text gets their `fallback`,
served and in `botfleet chat` and `botfleet test` alike. Worth a warning, not an error: a
tenant may keep its LLM off on purpose for a while.
"""

from __future__ import annotations

from botfleet.flows.schema import FlowSpec

__all__ = ["unasked_llm"]


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
