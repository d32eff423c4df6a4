"""The connector categories a flow may call, and the operations each offers. Pure.

The single source of both: the flow validator checks a flow's `invoke_connector` calls against
them (a flow alone, or with its tenant), and the connector catalog
(`botfleet.adapters.connectors.catalog`) checks a tenant's bindings with them. A named binding
(`notification.crm`, `connector_names`) offers the operations of its category.
"""

from __future__ import annotations

__all__ = [
    "CATEGORY_OPERATIONS",
    "FLOW_CATEGORIES",
    "NOT_CONNECTORS",
    "SCRIPTED_CATEGORY",
    "not_a_connector",
]

#: Operations every connector of a category offers, whatever its type (docs/flow-dsl.md,
#: "Calendar connector operations"; docs/connectors.md, "Calendar category" and
#: "Notification category").
CATEGORY_OPERATIONS: dict[str, frozenset[str]] = {
    "calendar": frozenset(
        {
            "get_available_days",
            "get_slots_for_day",
            "book_appointment",
            "get_future_appointments",
            "cancel_event",
            "list_appointments",
            "cancel_appointment",
            "reschedule_appointment",
        }
    ),
    "notification": frozenset({"send"}),
}

#: The category a tenant binds the scripted `mock` connector under (`connectors.mock: {type:
#: mock, fixtures: ...}`, docs/connectors.md, "Types"): its operations are the ones it scripts,
#: so a flow's calls to it are not checked here.
SCRIPTED_CATEGORY = "mock"

#: The categories a flow may call when no caller says otherwise.
FLOW_CATEGORIES: frozenset[str] = frozenset({*CATEGORY_OPERATIONS, SCRIPTED_CATEGORY})

#: Categories with their own port, built elsewhere: a tenant configures its LLM under
#: `connectors.llm` (or `llm:`), but a flow never calls it (docs/connectors.md).
NOT_CONNECTORS = frozenset({"llm"})


def not_a_connector(category: str) -> str | None:
    """What to write instead of calling `category`, when it is not a connector (`llm`)."""
    if category == "llm":
        return (
            "'llm' is not a connector a flow calls: the LLM answers free text that no "
            "transition matches, in a state with `llm_fallback: true`"
        )
    return None
