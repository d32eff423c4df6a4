"""Pydantic models of the flow YAML (the DSL of docs/flow-dsl.md). Unknown keys are errors.

Every key has a `description`: it is what editors show on hover, from the JSON Schema exported
for them (`flow_json_schema`, committed as schemas/flow.schema.json), so it is written for flow
authors, in the words of docs/flow-dsl.md. So are the models' docstrings (each model's
description there); notes for developers are comments.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from typing_extensions import TypeAliasType

from botfleet.domain.texts_by_language import TextByLanguage, check_text_by_language
from botfleet.flows.connector_categories import CATEGORY_OPERATIONS
from botfleet.flows.texts import TEXT_KEY_PATTERN, TextTable

# A state or task name, a key in `data`, a payload id...
Name = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _action(what: str) -> Any:
    """The `action` key of an action: what this type of action does."""
    return Field(description=what)


_TEMPLATE_VALUES = (
    "String values are templates; a template that is exactly one expression, and any other "
    "YAML value, keeps its type (30, not '30')."
)

# ---------------------------------------------------------------- actions


class _Action(_Strict):
    """What every action has besides its own fields."""

    when: str | None = Field(
        default=None,
        description="A condition, as a transition's: the action runs only when it "
        "holds (else it is skipped and the next one runs). Left out: always.",
    )


class OptionSpec(_Strict):
    """A button or list row: the `id` a press sends back and the `title` shown."""

    id: Name = Field(
        description="The payload a press sends back, which `on_payload` and "
        "`on_payload_prefix` match; a template, rendered when the option is sent."
    )
    title: str = Field(
        description="The text shown on the button or row (WhatsApp: at most 20 characters on "
        "a button, 24 on a row); a template. Typing it, or the option's number, counts as a "
        "press."
    )
    description: str = Field(
        default="",
        description="A second line under a list row's title (WhatsApp: at most 72 "
        "characters); a template.",
    )


class SectionSpec(_Strict):
    """A section of a list: a heading and its rows."""

    title: str = Field(
        default="",
        description="The section's heading in the list (WhatsApp: at most 24 characters); a "
        "template.",
    )
    rows: list[OptionSpec] = Field(
        description="The rows of the section, `{id, title, description}` each (WhatsApp: 10 "
        "rows in all, over every section)."
    )


class ErrorRoute(_Strict):
    """Where a failed connector call goes: a message, a state, or both; or on with the next
    action."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    text: str | None = Field(
        default=None, description="Sent to the contact when the call fails; a template."
    )
    target: str | None = Field(
        default=None,
        description="The state to enter after the failure. Left out: the contact stays in the "
        "state they were in before the message.",
    )
    continue_: bool = Field(
        default=False,
        alias="continue",
        description="true: after `text` (if any), the next actions run, with `result_key` "
        "holding `{failed: true, error}` for them to check (e.g. an action's `when`). "
        "Not with `target`.",
    )


class SendText(_Action):
    """Sends one text message."""

    action: Literal["send_text"] = _action("Sends one text message.")
    text: str = Field(
        description="The message; a template. A text that renders empty or blank is not sent."
    )


class SendButtons(_Action):
    """Sends a message with buttons to press."""

    action: Literal["send_interactive_buttons"] = _action(
        "Sends a message with buttons to press (WhatsApp shows up to 3; more are sent as a list)."
    )
    body: str = Field(description="The message shown with the buttons; a template.")
    buttons: list[OptionSpec] = Field(
        min_length=1,
        description="The buttons, `{id, title}` each: a press sends the `id` back as the "
        "payload (WhatsApp: up to 3, titles of at most 20 characters).",
    )


#: One default for both list actions, the word of the lists degradation makes: a flow's own
#: list and a channel's list of buttons then read alike to the same contact.
_LIST_LABEL = (
    "Label of the button that opens the list. Left out (or rendered blank): "
    "settings.menu_texts.list_button, else the built-in word of the contact's or the tenant's "
    "language ('Options', 'Opciones'...)."
)


class SendList(_Action):
    """Sends a message with a list of rows to pick from, in sections."""

    action: Literal["send_interactive_list"] = _action(
        "Sends a message with a list of rows to pick from, in sections."
    )
    body: str = Field(description="The message shown with the list; a template.")
    button_label: str | None = Field(default=None, description=_LIST_LABEL)
    sections: list[SectionSpec] = Field(
        min_length=1,
        description="The list's sections, each `{title, rows}`; a pick sends the row's `id` "
        "back as the payload (WhatsApp: 10 rows in all; more are sent as numbered text).",
    )


class SendDynamicOptions(_Action):
    """Sends options read from `data` (a connector's result): buttons for up to three
    options without descriptions, else a list."""

    action: Literal["send_dynamic_options"] = _action(
        "Sends the options held in `data` (a connector's result, usually): buttons for up to "
        "three options without descriptions, else a list."
    )
    source_key: Name = Field(
        description="The key in `data` holding the options, `[{id, title, description?}]`, or "
        "a dotted path into it (`booking.slots`); a name, not a template."
    )
    text: str = Field(description="The message sent with the options; a template.")
    button_label: str | None = Field(default=None, description=_LIST_LABEL)
    empty_text: str = Field(
        default="",
        description="Sent instead when the list is empty or missing; a template.",
    )
    description: str | None = Field(
        default=None,
        description="Each option's second line, in place of its item's own `description`: a "
        "template rendered once per item, which it reads as `item` (`{% if item.places_left "
        "is defined %}{{ item.places_left }} tables left{% endif %}`). Rendered blank: no "
        "description for that item. Left out: the item's own.",
    )


class InvokeConnector(_Action):
    """Calls a connector (the calendar, a notification hook...) and stores its result in
    `data`."""

    # The operations of a category with a fixed set, for editors: the loader checks the same
    # list (`connector_categories.CATEGORY_OPERATIONS`, in `_content_checks`).
    model_config = ConfigDict(
        json_schema_extra=lambda schema: schema.update(allOf=_operations_by_category())
    )

    action: Literal["invoke_connector"] = _action(
        "Calls a connector (the calendar, a notification hook...) and stores its result in `data`."
    )
    connector: Name = Field(
        description="The connector to call, as the tenant binds it under `connectors:`: a "
        "category (`calendar`, `notification`) or a named binding of one, "
        "`<category>.<name>` (`notification.front_desk`); a name, not a template.",
        examples=sorted(CATEGORY_OPERATIONS),
    )
    operation: Name = Field(
        description="The operation to call, one of the connector's category "
        "(`get_available_days`, `book_appointment`... for `calendar`; `send` for "
        "`notification`); a name, not a template."
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="The operation's parameters, by name. " + _TEMPLATE_VALUES,
    )
    result_key: str | None = Field(
        default=None,
        description="The key in `data` where the result is stored (a list result as the list "
        "itself); a name, not a template. Left out: the result is not kept.",
    )
    on_error: str | ErrorRoute | None = Field(
        default=None,
        description="What happens when the call fails after its retries: a state to enter, "
        "`{text, target}`, or `{continue: true}` (with an optional `text`). Left out: the "
        "flow's `settings.error_text` is sent and the contact "
        "stays in the state they were in before the message.",
    )


def _operations_by_category() -> list[dict[str, Any]]:
    """`operation` is one of the category's when `connector` names it or a binding of it."""
    return [
        {
            "if": {
                "properties": {"connector": {"pattern": rf"^{category}(\..+)?$"}},
                "required": ["connector"],
            },
            "then": {"properties": {"operation": {"enum": sorted(operations)}}},
        }
        for category, operations in sorted(CATEGORY_OPERATIONS.items())
    ]


#: The longest `run_late_within`: a reminder a week late is no longer one.
MAX_RUN_LATE_WITHIN = timedelta(days=7)


class ScheduleTask(_Action):
    """Schedules one of the flow's tasks to run later in this contact's conversation (a
    reminder): at `run_at` or after `delay`."""

    action: Literal["schedule_task"] = _action(
        "Schedules one of the flow's tasks to run later in this contact's conversation (a "
        "reminder): give `run_at` or `delay`."
    )
    task: Name = Field(description="The task to run, one of the flow's `tasks`.")
    run_at: str | None = Field(
        default=None,
        description="When to run it: a template giving an ISO date-time "
        "(`2024-03-10T10:00`; without an offset, in the tenant's time zone). Give this or "
        "`delay`.",
    )
    delay: str | None = Field(
        default=None,
        description="How long after the message was received to run it: `30s`, `15m`, `24h`, "
        "`2d`, `1h30m`. Give this or `run_at`.",
    )
    run_late_within: str | None = Field(
        default=None,
        description="How late the task may still run when it could not run on time (the data "
        "plane was stopped, or `run_at` is already past when scheduled): a duration such as "
        "`30m`, `3h`, `1d`, from 1s to 7d; not a template. Later than that it is not sent "
        "(`task_missed`). Left out: the data plane's misfire grace window "
        "(`DP_SCHEDULER_GRACE_S`, 5 minutes).",
    )
    idempotency_key: str | None = Field(
        default=None,
        description="Names this scheduled run: scheduling again with the same key replaces "
        "it, and `cancel_task` cancels it by this key; a template. Default: "
        "`<task>:<contact id>`.",
    )
    data: dict[str, Any] = Field(
        default_factory=dict,
        description="Values carried into the task, rendered when it is scheduled; the task's "
        "templates see them in `data`. " + _TEMPLATE_VALUES,
    )
    result_key: str | None = Field(
        default=None,
        description="The key in `data` where the outcome is stored, for the next actions to "
        "branch on: `{scheduled: true, run_at: <ISO instant, UTC>}`, or `{scheduled: false, "
        "reason: past}` (already further in the past than the task may run late), `reason: "
        "bad_run_at` (`run_at` or `delay` unusable), `reason: disabled` (the data plane has "
        "no scheduler); a name, not a template. Left out: the outcome is not kept.",
    )

    @model_validator(mode="after")
    def _one_time(self) -> ScheduleTask:
        if (self.run_at is None) == (self.delay is None):
            raise ValueError("give exactly one of 'run_at' or 'delay'")
        return self


class CancelTask(_Action):
    """Cancels a task scheduled with `schedule_task`, by its key."""

    action: Literal["cancel_task"] = _action(
        "Cancels a task scheduled with `schedule_task`, by its key."
    )
    idempotency_key: str = Field(
        description="The key the task was scheduled with (`schedule_task`'s default: "
        "`<task>:<contact id>`); a template."
    )


#: Buttons a WhatsApp template may have, so the highest button index is 9.
MAX_TEMPLATE_BUTTONS = 10


class TemplateUrlButton(_Strict):
    """The variable suffix of a template's URL button (`https://x.test/b/{{1}}`)."""

    suffix: str = Field(
        description="Appended by WhatsApp to the URL approved in the template (a template)."
    )
    index: int | None = Field(
        default=None,
        ge=0,
        lt=MAX_TEMPLATE_BUTTONS,
        description="The URL button's position among the template's buttons, from 0. Left "
        "out: right after the quick-reply buttons (`len(button_payloads)`).",
    )


class SendTemplate(_Action):
    """Sends a template approved in Meta (WhatsApp), e.g. a reminder outside the 24-hour
    window; elsewhere its `fallback_text`."""

    action: Literal["send_template"] = _action(
        "Sends a template approved in Meta (WhatsApp), e.g. a reminder outside the 24-hour "
        "window; where templates are not available, its `fallback_text`."
    )
    name: Name = Field(description="The template's name, as approved in Meta.")
    language: str = Field(
        default="en",
        description="The approved translation's code, exactly (`es`, `es_MX`); a template.",
    )
    params: list[Any] = Field(
        default_factory=list, description="The body's {{1}}, {{2}}... in order; templates."
    )
    fallback_text: str = Field(
        default="",
        description="Sent where templates are not available (web chat, Telegram), with the "
        "quick replies as buttons; a template. Empty: the template's name and parameters.",
    )
    header_param: str | None = Field(
        default=None,
        description="The value of the template's text header variable {{1}} (a template).",
    )
    button_payloads: list[str | None] = Field(
        default_factory=list,
        max_length=MAX_TEMPLATE_BUTTONS,
        description="The payload of each quick-reply button, by its position in the template "
        "(null: no parameter for that button); templates. A press arrives as a button reply "
        "with this payload.",
    )
    button_titles: list[str | None] = Field(
        default_factory=list,
        max_length=MAX_TEMPLATE_BUTTONS,
        description="The titles channels without templates show on the quick replies, by the "
        "same positions as button_payloads (left out: the payload); templates.",
    )
    url_button: TemplateUrlButton | None = Field(
        default=None,
        description="The variable part of the template's URL button, `{suffix, index}`.",
    )


class SetData(_Action):
    """Writes values into `data`."""

    action: Literal["set_data"] = _action("Writes values into `data`.")
    values: dict[str, Any] = Field(
        description="`{key: value}` written into `data`. " + _TEMPLATE_VALUES
    )


Action = Annotated[
    SendText
    | SendButtons
    | SendList
    | SendDynamicOptions
    | InvokeConnector
    | ScheduleTask
    | CancelTask
    | SendTemplate
    | SetData,
    Field(discriminator="action"),
]

ACTION_TYPES: tuple[str, ...] = (
    "send_text",
    "send_interactive_buttons",
    "send_interactive_list",
    "send_dynamic_options",
    "invoke_connector",
    "schedule_task",
    "cancel_task",
    "send_template",
    "set_data",
)

# ---------------------------------------------------------------- transitions

#: What `on_type` matches: the message types (`botfleet.domain.messages.MessageType`) and the
#: aliases `button` and `list`. An editor completes them; a wrong one is an error listing them
#: (`_schema_errors`).
OnType = Literal[
    "text",
    "button_reply",
    "button",
    "list_reply",
    "list",
    "image",
    "audio",
    "video",
    "document",
    "location",
    "reaction",
    "contacts",
    "unsupported",
]
MESSAGE_TYPES: tuple[str, ...] = get_args(OnType)


#: The target of a global transition that enters again the state the contact is in (its
#: `on_enter` re-runs: a language switch asks the same question in the new language). State
#: names may not be it (`validate`); `$` keeps it apart from the names flows use.
CURRENT_STATE = "$current"


class Transition(_Strict):
    """Where a message leads: every trigger given must match and `condition` hold; one with
    no trigger matches any message."""

    target: Name = Field(
        description="The state to enter when this transition fires. In `global_transitions`, "
        "`$current` enters again the state the contact is in (its `on_enter` runs again: a "
        "language switch asks the same question in the new language); a new contact enters "
        "`initial_state`."
    )
    on_payload: str | None = Field(
        default=None,
        description="Matches a button or list reply whose payload is exactly this (a text "
        "typed as it, too).",
    )
    on_payload_prefix: str | None = Field(
        default=None,
        description="Matches a payload that starts with this prefix and goes on after it "
        "(`day_` matches `day_2024-05-08`); not empty.",
    )
    extract_suffix_as: str | None = Field(
        default=None,
        description="The key in `data` where the rest of the payload after "
        "`on_payload_prefix` is stored; a suffix that is a key of `services` also copies that "
        "service's properties to `data.service_<property>`.",
    )
    on_type: OnType | None = Field(
        default=None,
        description="Matches a message of this type: text, button_reply (or button), "
        "list_reply (or list), image, audio, video, document, location, reaction, contacts (a "
        "shared contact card), or unsupported (anything else the contact sends).",
    )
    condition: str | None = Field(
        default=None,
        description="An expression over data, message, contact, tenant, today and now; the "
        "transition fires only when it is true.",
    )
    set_data: dict[str, Any] = Field(
        default_factory=dict,
        description="`{key: value}` written into `data` before entering `target`. "
        + _TEMPLATE_VALUES,
    )

    @property
    def has_trigger(self) -> bool:
        return any(t is not None for t in (self.on_payload, self.on_payload_prefix, self.on_type))


# ---------------------------------------------------------------- states and flow


class NextRoute(_Strict):
    """One branch of a conditional `next`: the first whose condition holds is taken."""

    target: Name = Field(description="The state to move to when this branch is taken.")
    condition: str | None = Field(
        default=None,
        description="An expression over data, message, contact, tenant, today and now; the "
        "branch is taken only when it is true. Left out: always taken.",
    )


class State(_Strict):
    """A step of the conversation: what the bot does on entering it, and where each message
    leads from it."""

    on_enter: list[Action] = Field(
        default_factory=list,
        description="Actions run in order when the state is entered (by a transition, a "
        "fallback or `next`).",
    )
    transitions: list[Transition] = Field(
        default_factory=list,
        description="Tried in order on each message, after `global_transitions`; the first "
        "that matches fires.",
    )
    fallback: str | None = Field(
        default=None,
        description="The state entered when no transition matches a message; naming this same "
        "state runs its `on_enter` again (shows the menu again).",
    )
    llm_fallback: bool = Field(
        default=False,
        description="true: free text that no transition matches is answered by the LLM from "
        "the business's knowledge document, and the contact stays in this state.",
    )
    llm_unanswered: str | None = Field(
        default=None,
        description="With `llm_fallback: true`: the state entered after a question the "
        "knowledge document did not answer (out of scope, a malformed or refused reply, the "
        "provider failing, a quota used up) got the safe text; e.g. one offering to pass the "
        "contact to a person. Not for a question too long or without words.",
    )
    llm_unanswered_after: int | None = Field(
        default=None,
        ge=1,
        le=100,
        description="How many unanswered questions in a row in this state enter "
        "`llm_unanswered` (default 1: the first). An answered question, or entering any state, "
        "starts the count again; `data.llm_unanswered_count` holds it meanwhile.",
    )
    #: A state name, or a list of `{target, condition}` branches tried in order.
    next: str | list[NextRoute] | None = Field(
        default=None,
        description="The state to move to right after `on_enter`, without waiting for the "
        "user; or a list of `{target, condition}` branches, of which the first that holds is "
        "taken (none: the contact stays).",
    )

    def next_targets(self) -> list[str]:
        if self.next is None:
            return []
        if isinstance(self.next, str):
            return [self.next]
        return [route.target for route in self.next]


class StandingSchedule(_Strict):
    """A recurring task registered when the bot starts: exactly one of `cron` or
    `interval`, in the tenant's time zone."""

    task: Name = Field(description="The task to run, one of the flow's `tasks`.")
    cron: str | None = Field(
        default=None,
        description="A cron rule of 5 fields in the tenant's time zone, e.g. `0 9 * * 1-5` "
        "(09:00 on weekdays). Give this or `interval`.",
    )
    interval: str | None = Field(
        default=None,
        description="How often to run the task, e.g. `15m`, `24h`. Give this or `cron`.",
    )
    contact_id: str | None = Field(
        default=None,
        description="The contact in whose conversation the task runs (tasks always run in a "
        "contact's conversation: without one, the runs are skipped).",
    )
    data: dict[str, Any] = Field(
        default_factory=dict,
        description="Values the task's templates see in `data`.",
    )

    @model_validator(mode="after")
    def _one_rule(self) -> StandingSchedule:
        if (self.cron is None) == (self.interval is None):
            raise ValueError("give exactly one of 'cron' or 'interval'")
        return self


class MenuTextsSpec(_Strict):
    """The words a channel adds to a menu it cannot show as written. A key left out is the
    built-in text of the contact's or the tenant's language."""

    # Used by `botfleet.domain.degrade`.
    list_button: str | None = Field(
        default=None,
        description="Label of the button that opens a list made of buttons that did not fit "
        "(built in: 'Options', 'Opciones'...).",
    )
    number_hint: str | None = Field(
        default=None,
        description="Line under options sent as numbered text; empty for none (built in: "
        "'Reply with a number.', 'Responde con un número.'...).",
    )

    @field_validator("list_button")
    @classmethod
    def _label_shows(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("a blank list_button would show no label: leave the key out")
        return value


class FlowSettings(_Strict):
    """Options of this flow."""

    error_text: str | None = Field(
        default=None,
        description="Sent when something fails and the flow has no more specific text (else a "
        "built-in apology in the contact's language, else the tenant's). Plain text, sent as "
        "written: never rendered as a template.",
    )
    restart_text: str | None = Field(
        default=None,
        description="Sent to a contact restarted in `initial_state` because the state they "
        "were in is gone (a newly published version removed or renamed it), before the answer "
        "to their message, e.g. \"We've updated our menu; let's start again.\". A template; "
        "one that renders blank sends nothing. Left out: nothing extra is sent.",
    )
    media_text: str | None = Field(
        default=None,
        description="Sent before the state's `fallback` (or `error_text`) when the contact "
        "sends a voice note, photo, video, document or other content (`on_type` `audio`, "
        '`image`, `video`, `document`, `unsupported`) that no transition takes, e.g. "Sorry, '
        "I can't listen to voice notes; please type your answer.\". A template (`{{ "
        'texts.media }}`); `""`, or one that renders blank, sends nothing. Left out: a '
        "built-in sentence in the contact's language, else the tenant's.",
    )
    #: Texts of one contact less than this apart are answered as one turn (0: each at once).
    debounce_ms: int = Field(
        default=0,
        ge=0,
        le=60_000,
        description="Texts a contact sends less than this many milliseconds apart are answered "
        "as one message, their lines joined, once the contact pauses (0: every text at once).",
    )
    session_timeout: str | None = Field(
        default=None,
        description="e.g. `30m`, `12h`: a contact silent for longer starts over in "
        "`initial_state` with empty `data`, but for the keys `session_keeps` names.",
    )
    session_keeps: list[Name] = Field(
        default_factory=list,
        description="Keys of `data` a session timeout keeps (an opt-out, a chosen language, a "
        "name): everything else in `data` goes.",
    )
    conversation_retention: str | None = Field(
        default=None,
        description="e.g. `180d`: a contact with no turn for longer is forgotten, its "
        "conversation state deleted (checked hourly); pending scheduled tasks are kept. Left "
        "out: conversations are kept until erased.",
    )
    strict_templates: bool = Field(
        default=False,
        description="true: a missing template value, or a broken template, is an error "
        "instead of an empty string; the step sends nothing of its own and the contact gets "
        "`error_text`.",
    )
    llm_fallback_text: TextByLanguage | None = Field(
        default=None,
        description="The safe answer when the LLM cannot answer from the knowledge document: "
        "one text, or one per language (`{es: '...', en: '...'}`: the one of the turn's "
        "language, as the built-in one is chosen, else of the tenant's, else the first listed). "
        "The tenant's `llm.fallback_text` wins over it; with neither, a built-in one in the "
        "contact's language, else the tenant's. Plain text, sent as written: never rendered as "
        "a template.",
    )
    menu_texts: MenuTextsSpec = Field(
        default_factory=MenuTextsSpec,
        description="The words a channel adds to a menu it cannot show as written.",
    )
    language: str | None = Field(
        default=None,
        description="The language of the platform's own words in this conversation (the "
        "menu words, a list's default label, the built-in apology and LLM safe text), e.g. "
        '`"{{ data.lang }}"` in a flow that lets the contact choose. A template, rendered on '
        "every turn: a language the platform writes (en, es, pt, fr, de, it, ca, with a region "
        "or not) wins over the contact's and the tenant's; blank, missing or another one "
        "leaves them the choice, without a warning. It also chooses the language `texts` is read "
        "in (any language the table has).",
    )

    @field_validator("llm_fallback_text", mode="before")
    @classmethod
    def _by_language(cls, value: Any) -> Any:
        # One error in words for a wrong map, rather than one per shape the union takes.
        return check_text_by_language(value)

    @field_validator("session_keeps")
    @classmethod
    def _keys_of_data(cls, keys: list[str]) -> list[str]:
        for key in keys:
            if key.startswith("data."):
                raise ValueError(f"name the key alone: {key.removeprefix('data.')!r}, not {key!r}")
        return keys


def _text_key(key: str) -> str:
    if not re.match(TEXT_KEY_PATTERN, key):
        raise ValueError(
            f"a text's key is read after a dot ({{{{ texts.{key} }}}} would not read it): "
            "letters, digits and `_`, not starting with a digit, e.g. `book_now`"
        )
    return key


#: A text's key in `texts`: read after a dot in templates, so a name (`book`, `book_now`).
TextKey = Annotated[
    str,
    AfterValidator(_text_key),
    WithJsonSchema({"type": "string", "pattern": TEXT_KEY_PATTERN}),
]
#: The texts of one language: key -> a string (a template) or a group of more texts.
TextGroup = TypeAliasType(
    "TextGroup",
    Annotated[
        "dict[TextKey, str | TextGroup]",
        Field(
            description="Texts of one language, by key: each a string (a template) or a group "
            "of more texts, read as `{{ texts.<group>.<key> }}`."
        ),
    ],
)


class FlowSpec(_Strict):
    """A flow: the conversation a bot has, as states and the transitions between them."""

    id: Name = Field(description="The flow's identifier, e.g. `peluqueria_flow_v1`.")
    initial_state: Name = Field(
        description="The state a new contact is placed in; their first message is matched "
        "against it (its `on_enter` does not run first)."
    )
    states: dict[Name, State] = Field(
        min_length=1, description="The conversation's states, by name."
    )
    global_transitions: list[Transition] = Field(
        default_factory=list,
        description="Transitions tried on every message, in any state, before the current "
        "state's own; `target: $current` enters the contact's state again.",
    )
    services: dict[Name, dict[str, Any]] = Field(
        default_factory=dict,
        description="Services by key, each a mapping of properties (name, price, "
        "durations...): when `extract_suffix_as` extracts a key of a service, each property "
        "`p` is copied to `data.service_<p>`.",
    )
    tasks: dict[Name, list[Action]] = Field(
        default_factory=dict,
        description="Named lists of actions, run later by the scheduler (`schedule_task`, "
        "`standing_schedules`) in a contact's conversation.",
    )
    standing_schedules: list[StandingSchedule] | dict[Name, StandingSchedule] = Field(
        default_factory=list,
        description="Recurring tasks registered when the bot starts, each on a cron rule or "
        "an interval in the tenant's time zone: by name, or a list.",
    )
    settings: FlowSettings = Field(
        default_factory=FlowSettings,
        description="Options of this flow: `error_text`, `debounce_ms`, `session_timeout`, "
        "`menu_texts`...",
    )
    texts: dict[Name, TextGroup] = Field(
        default_factory=dict,
        description="The flow's texts in each language it speaks: language code (`ca`, `es`, "
        "`en`) -> text key -> the string (a template), or a group of keys (`menu: {book: "
        "...}`). Templates read them as `{{ texts.book }}` (`{{ texts.menu.book }}`): the "
        "string of the first of these languages the table has: `settings.language` as it "
        "renders, the contact's language, the tenant's; else the first language written, the "
        "default, which also gives a key another language lacks.",
    )
    # Built once from `texts` for the turns that read them (None: the flow has none).
    _text_table: TextTable | None = PrivateAttr(default=None)

    def model_post_init(self, context: Any, /) -> None:
        if self.texts:
            self._text_table = TextTable.of(self.texts)

    @property
    def text_table(self) -> TextTable | None:
        """`texts` flattened for reading, or None when the flow has none."""
        return self._text_table

    @property
    def schedules(self) -> list[tuple[str, StandingSchedule]]:
        """Standing schedules as (name, rule) pairs, whichever form the YAML used."""
        if isinstance(self.standing_schedules, dict):
            return list(self.standing_schedules.items())
        return [(f"{s.task}#{i}", s) for i, s in enumerate(self.standing_schedules)]


def flow_json_schema() -> dict[str, Any]:
    """JSON Schema of the flow format, for editors' autocomplete."""
    schema = FlowSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "botfleet flow"
    return schema
