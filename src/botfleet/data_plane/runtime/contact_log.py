"""Logging for one contact's turn: tenant id and hashed contact id, never the raw contact id."""

from __future__ import annotations

import traceback
from typing import Any

from botfleet.contact_hash import hash_contact, scrub_contact, scrub_numbers

#: The fields that carry an error's own text (`failure`'s, and `detail` by convention).
_ERROR_TEXTS = frozenset({"detail", "traceback"})

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}


class ContactLog:
    """Every line names the tenant and the hashed contact; the raw contact id is scrubbed from
    every text field (error messages quote ids), tracebacks included. Event names are code
    constants and are left alone.

    Built once per turn and cheap until something is logged (the logger is bound lazily).
    """

    __slots__ = ("_base", "_bound", "_contact_id", "_tenant_id")

    def __init__(self, base: Any, tenant_id: str, contact_id: str) -> None:
        self._base = base
        self._bound: Any = None
        self._tenant_id = tenant_id
        self._contact_id = contact_id

    @property
    def contact_id(self) -> str:
        """The contact the lines are about (never logged as it is: `contact_hash`)."""
        return self._contact_id

    @property
    def contact_hash(self) -> str:
        return hash_contact(self._tenant_id, self._contact_id)

    def scrub(self, text: str) -> str:
        """`text` with the raw contact id replaced by its hash."""
        return scrub_contact(text, self._tenant_id, self._contact_id)

    def log(self, level: str, event: str, **fields: Any) -> None:
        if self._bound is None:
            self._bound = self._base.bind(tenant=self._tenant_id, contact=self.contact_hash)
        clean = {k: self.scrub(v) if isinstance(v, str) else v for k, v in fields.items()}
        for key in _ERROR_TEXTS.intersection(clean):
            # Error texts (a connector's, a provider's) quote numbers the contact id does not
            # spell: "+34 600 111 222", another client's. Other fields are ids and names.
            clean[key] = scrub_numbers(clean[key], self._tenant_id, (self._contact_id,))
        self._bound.log(_LEVELS.get(level, 30), event, **clean)

    def info(self, event: str, **fields: Any) -> None:
        self.log("info", event, **fields)

    def warning(self, event: str, **fields: Any) -> None:
        self.log("warning", event, **fields)

    def error(self, event: str, **fields: Any) -> None:
        self.log("error", event, **fields)

    def failure(self, event: str, exc: BaseException, **fields: Any) -> None:
        """An error with its (scrubbed) traceback; `exc_info` would print the raw message."""
        self.log(
            "error",
            event,
            error=type(exc).__name__,
            detail=str(exc),
            traceback="".join(traceback.format_exception(exc)),
            **fields,
        )
