""" "typing…" shown to a contact while their message's turn runs long (a slow calendar, the LLM).

A turn's replies are sent once it has committed, so a contact whose question waits on a slow
connector or the LLM saw nothing for seconds. A channel that can show "typing…"
(`TypingIndicator`: WhatsApp, Telegram) is asked to once the turn has run for its rule's
`after_s`, and again shortly before each showing fades while the turn still runs (Telegram's
lasts 5 s, WhatsApp's 25 s). A fast turn, most of them, shows nothing: no call to the provider.

Before the replies are sent (`stop`), a showing still on its way is waited for (briefly): a
"typing…" that reached the provider after the reply would hang under it until it faded.
"""

from __future__ import annotations

import asyncio
from time import monotonic

from botfleet.data_plane.runtime.contact_log import ContactLog
from botfleet.ports.channels import TypingIndicator, TypingRule

#: A turn stuck this long is not shown typing any longer (its connector calls time out well
#: before; this bounds the provider calls whatever happens).
MAX_TYPING_S = 120.0
#: How long the replies wait, at most, for a showing still on its way.
STOP_WAIT_S = 1.0


class ShownTyping:
    """The typing indicator of one turn: armed at creation, ended by `stop` or `abandon`."""

    def __init__(
        self,
        indicator: TypingIndicator,
        rule: TypingRule,
        message_id: str,
        contact_log: ContactLog,
    ) -> None:
        self._indicator = indicator
        self._rule = rule
        self._contact_id = contact_log.contact_id
        self._message_id = message_id
        self._log = contact_log
        self._task: asyncio.Task[None] | None = None
        self._call: asyncio.Future[bool] | None = None
        self.shown = 0  # showings asked of the provider (tests, curiosity)
        self._timer = asyncio.get_running_loop().call_later(rule.after_s, self._begin)

    def _begin(self) -> None:
        self._task = asyncio.ensure_future(self._show_while_running())

    async def _show_while_running(self) -> None:
        # Again a second before it fades (half-way for a short one).
        again_s = max(self._rule.lasts_s - 1.0, self._rule.lasts_s / 2)
        until = monotonic() + MAX_TYPING_S
        while True:
            self.shown += 1
            self._call = asyncio.ensure_future(
                self._indicator.show_typing(self._contact_id, self._message_id)
            )
            try:
                shown = await self._call
            except Exception as exc:  # the port says never; a courtesy must not fail a turn
                # `detail`: the contact log scrubs the numbers an error text may quote.
                detail = f"{type(exc).__name__}: {exc}"
                self._log.warning("typing_failed", detail=detail, message_id=self._message_id)
                return
            if not shown:  # refused (the channel logged why): asking again is refused again
                return
            if monotonic() + again_s >= until:
                return
            await asyncio.sleep(again_s)

    async def stop(self) -> None:
        """The replies are about to be sent: no more showings, and the one on its way (if any)
        reaches the provider first, or is given up after `STOP_WAIT_S`."""
        self._timer.cancel()
        task, call = self._task, self._call
        if task is None or task.done():
            return
        try:
            if call is not None and not call.done():
                await asyncio.wait({call}, timeout=STOP_WAIT_S)
        finally:  # also when the turn is cancelled meanwhile: no showing outlives it
            task.cancel()

    def abandon(self) -> None:
        """The turn ended without replies (failed, cancelled, or sent them already)."""
        self._timer.cancel()
        if self._task is not None:
            self._task.cancel()
