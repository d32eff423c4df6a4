"""Pydantic models of the flow YAML (the DSL of docs/flow-dsl.md). Unknown keys are errors."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# A state or task name, a key in `data`, a payload id...
Name = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------- actions


class OptionSpec(_Strict):
    id: Name
    title: str
    description: str = ""


class SectionSpec(_Strict):
    title: str = ""
    rows: list[OptionSpec]


class ErrorRoute(_Strict):
    """Where a failed connector call goes: a message, a state, or both."""

    text: str | None = None
    target: str | None = None


class SendText(_Strict):
    action: Literal["send_text"]
    text: str


class SendButtons(_Strict):
    action: Literal["send_interactive_buttons"]
    body: str
    buttons: list[OptionSpec] = Field(min_length=1)


#: One default for both list actions, the word of the lists degradation makes: a flow's own
#: list and a channel's list of buttons then read alike to the same contact.
_LIST_LABEL = (
    "Label of the button that opens the list. Left out (or rendered blank): "
    "settings.menu_texts.list_button, else the built-in word of the contact's or the tenant's "
    "language ('Options', 'Opciones'...)."
)


class SendList(_Strict):
    action: Literal["send_interactive_list"]
    body: str
    button_label: str | None = Field(default=None, description=_LIST_LABEL)
    sections: list[SectionSpec] = Field(min_length=1)


class SendDynamicOptions(_Strict):
    action: Literal["send_dynamic_options"]
    source_key: Name
    text: str
    button_label: str | None = Field(default=None, description=_LIST_LABEL)
    empty_text: str = ""


class InvokeConnector(_Strict):
    action: Literal["invoke_connector"]
    connector: Name = Field(
        description="the connector to call, as the tenant binds it under `connectors:`: a "
        "category (`calendar`, `notification`) or a named binding of one, "
        "`<category>.<name>` (`notification.front_desk`)"
    )
    operation: Name
    params: dict[str, Any] = Field(default_factory=dict)
    result_key: str | None = None
    on_error: str | ErrorRoute | None = None


class ScheduleTask(_Strict):
    action: Literal["schedule_task"]
    task: Name
    run_at: str | None = None
    delay: str | None = None
    idempotency_key: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_time(self) -> ScheduleTask:
        if (self.run_at is None) == (self.delay is None):
            raise ValueError("give exactly one of 'run_at' or 'delay'")
        return self


class CancelTask(_Strict):
    action: Literal["cancel_task"]
    idempotency_key: str


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


class SendTemplate(_Strict):
    action: Literal["send_template"]
    name: Name
    language: str = Field(
        default="en",
        description="The approved translation's code, exactly (`es`, `es_MX`); a template.",
    )
    params: list[Any] = Field(
        default_factory=list, description="The body's {{1}}, {{2}}... in order; templates."
    )
    fallback_text: str = ""
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
    url_button: TemplateUrlButton | None = None


class SetData(_Strict):
    action: Literal["set_data"]
    values: dict[str, Any]


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

MESSAGE_TYPES = (
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
)


class Transition(_Strict):
    target: Name
    on_payload: str | None = None
    on_payload_prefix: str | None = None
    extract_suffix_as: str | None = None
    on_type: str | None = None
    condition: str | None = None
    set_data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("on_type")
    @classmethod
    def _known_type(cls, value: str | None) -> str | None:
        if value is not None and value not in MESSAGE_TYPES:
            raise ValueError(f"unknown message type {value!r} (known: {', '.join(MESSAGE_TYPES)})")
        return value

    @property
    def has_trigger(self) -> bool:
        return any(t is not None for t in (self.on_payload, self.on_payload_prefix, self.on_type))


# ---------------------------------------------------------------- states and flow


class NextRoute(_Strict):
    """(ours) One branch of a conditional `next`: the first whose condition holds is taken."""

    target: Name
    condition: str | None = None


class State(_Strict):
    on_enter: list[Action] = Field(default_factory=list)
    transitions: list[Transition] = Field(default_factory=list)
    fallback: str | None = None
    llm_fallback: bool = False
    #: A state name, or a list of `{target, condition}` branches tried in order.
    next: str | list[NextRoute] | None = None

    def next_targets(self) -> list[str]:
        if self.next is None:
            return []
        if isinstance(self.next, str):
            return [self.next]
        return [route.target for route in self.next]


class StandingSchedule(_Strict):
    """A recurring task registered at boot: exactly one of `cron` or `interval`."""

    task: Name
    cron: str | None = None
    interval: str | None = None
    contact_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_rule(self) -> StandingSchedule:
        if (self.cron is None) == (self.interval is None):
            raise ValueError("give exactly one of 'cron' or 'interval'")
        return self


class MenuTextsSpec(_Strict):
    """`settings.menu_texts`: the words a channel adds to a menu it cannot show as written
    (`botfleet.domain.degrade`). A key left out is the built-in text of the contact's or the
    tenant's language."""

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
    error_text: str | None = None
    #: Texts of one contact less than this apart are answered as one turn (0: each at once).
    debounce_ms: int = Field(
        default=0,
        ge=0,
        le=60_000,
        description="Texts a contact sends less than this many milliseconds apart are answered "
        "as one message, their lines joined, once the contact pauses (0: every text at once).",
    )
    session_timeout: str | None = None
    session_keeps: list[Name] = Field(
        default_factory=list,
        description="Keys of `data` a session timeout keeps (an opt-out, a chosen language, a "
        "name): everything else in `data` goes.",
    )
    strict_templates: bool = False
    llm_fallback_text: str | None = None
    menu_texts: MenuTextsSpec = Field(
        default_factory=MenuTextsSpec,
        description="The words a channel adds to a menu it cannot show as written.",
    )

    @field_validator("session_keeps")
    @classmethod
    def _keys_of_data(cls, keys: list[str]) -> list[str]:
        for key in keys:
            if key.startswith("data."):
                raise ValueError(f"name the key alone: {key.removeprefix('data.')!r}, not {key!r}")
        return keys


class FlowSpec(_Strict):
    id: Name
    initial_state: Name
    states: dict[Name, State] = Field(min_length=1)
    global_transitions: list[Transition] = Field(default_factory=list)
    services: dict[Name, dict[str, Any]] = Field(default_factory=dict)
    tasks: dict[Name, list[Action]] = Field(default_factory=dict)
    standing_schedules: list[StandingSchedule] | dict[Name, StandingSchedule] = Field(
        default_factory=list
    )
    settings: FlowSettings = Field(default_factory=FlowSettings)

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
