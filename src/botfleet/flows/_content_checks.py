"""Static checks on what actions, transitions and schedules contain. Pure.

Templates and conditions must parse, connectors and tasks must exist, durations, cron rules and
a calendar call's literal `period` must be well formed, option ids must be unique, and the
limits of the channel the flow runs on (`channel_limits`: WhatsApp's when no tenant says) get
warnings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from botfleet.domain.degrade import shorten
from botfleet.flows._calendar_param_checks import check_calendar_params
from botfleet.flows._issues import IssueCollector, did_you_mean
from botfleet.flows._schedule_checks import check_run_late_within
from botfleet.flows._send_template_checks import check_send_template
from botfleet.flows._spec_walk import iter_actions, iter_transitions
from botfleet.flows._template_checks import check_condition, check_templates
from botfleet.flows._texts_titles import language_views
from botfleet.flows.channel_limits import WHATSAPP, ChannelLimits
from botfleet.flows.connector_categories import not_a_connector
from botfleet.flows.connector_names import (
    SEPARATOR,
    binding_name_problem,
    connector_category,
    is_named_binding,
)
from botfleet.flows.durations import parse_duration
from botfleet.flows.render import is_template
from botfleet.flows.schema import (
    Action,
    FlowSpec,
    InvokeConnector,
    OptionSpec,
    ScheduleTask,
    SendButtons,
    SendDynamicOptions,
    SendList,
    SendTemplate,
    SetData,
    Transition,
)
from botfleet.flows.yaml_lines import key_path

# Fields that are names or plain values, not templates, per action type.
_NOT_TEMPLATES: dict[str, set[str]] = {
    "invoke_connector": {"connector", "operation", "result_key", "on_error"},
    # `delay` is checked as a duration; `run_late_within` is one, never a template
    "schedule_task": {"task", "delay", "run_late_within", "result_key"},
    "send_dynamic_options": {"source_key"},
}

#: Fields the engine renders as data (`Renderer.value`: a lone `{{ }}` keeps its type, and a
#: list or dict it gives is turned into data item by item), per action.
_RENDERED_AS_DATA: dict[str, set[str]] = {
    "invoke_connector": {"params"},
    "set_data": {"values"},
    "schedule_task": {"run_at", "data"},
    "send_template": {"params"},
}

#: Fields rendered with names of their own besides the turn's (`_template_checks.FIELD_NAMES`),
#: per action.
_OWN_NAMES: dict[str, dict[str, tuple[str, ...]]] = {
    "send_dynamic_options": {"description": ("item",)},
}


def check_transitions(spec: FlowSpec, collector: IssueCollector) -> None:
    for path, transition in iter_transitions(spec):
        if transition.on_payload_prefix == "":
            collector.error(
                key_path(path, "on_payload_prefix"),
                "an empty prefix: every payload starts with it, so it would match every "
                "button, row and typed text; write the prefix (e.g. `day_`), or leave the key "
                "out (a transition without triggers matches any message)",
            )
        if transition.extract_suffix_as is not None and transition.on_payload_prefix is None:
            collector.error(
                key_path(path, "extract_suffix_as"),
                "extract_suffix_as needs on_payload_prefix (the suffix is what follows it)",
            )
        if transition.condition is not None:
            check_condition(collector, key_path(path, "condition"), transition.condition)
        check_templates(collector, key_path(path, "set_data"), transition.set_data, as_data=True)
        _check_overwritten_set_data(spec, path, transition, collector)


def _check_overwritten_set_data(
    spec: FlowSpec, path: str, transition: Transition, collector: IssueCollector
) -> None:
    """`set_data` runs first, then `extract_suffix_as` and the services' properties: a key of
    `set_data` one of those writes too is overwritten, so what it set never shows."""
    suffix_key = transition.extract_suffix_as
    if not suffix_key or not transition.set_data:
        return
    service_keys = {f"service_{name}" for service in spec.services.values() for name in service}
    for key in transition.set_data:
        if key == suffix_key:
            why = "extract_suffix_as then writes the payload's suffix there"
        elif key in service_keys:
            why = (
                "extract_suffix_as then writes the service's property there when the suffix "
                "is a key of services"
            )
        else:
            continue
        collector.warning(
            key_path(key_path(path, "set_data"), key),
            f"set_data runs first and {why}, so this value is lost; give it another key, or "
            "set it in the target state's on_enter",
        )


def check_actions(
    spec: FlowSpec,
    collector: IssueCollector,
    known_connectors: frozenset[str],
    known_operations: Mapping[str, frozenset[str]] | None,
    bindings: frozenset[str] | None = None,
    channel: ChannelLimits = WHATSAPP,
) -> None:
    keys_set = data_keys_set(spec)
    names = _ConnectorNames(known_connectors, known_operations, bindings)
    for path, action in iter_actions(spec):
        if isinstance(action, InvokeConnector):
            names.check(action, path, collector)
            check_calendar_params(action, path, collector)
            if not isinstance(action.on_error, str | None):
                check_templates(collector, f"{path}.on_error.text", action.on_error.text)
                if action.on_error.continue_ and action.on_error.target is not None:
                    collector.error(
                        f"{path}.on_error",
                        "continue and target together: continue runs the next actions of "
                        "this program, target enters another state; keep one",
                    )
        elif isinstance(action, ScheduleTask):
            check_task_name(spec, action.task, f"{path}.task", collector)
            if action.delay is not None:
                check_duration(action.delay, f"{path}.delay", collector)
            check_run_late_within(action, path, collector)
        elif isinstance(action, SendButtons):
            paths = [f"{path}.buttons[{i}]" for i in range(len(action.buttons))]
            _check_unique_ids(action.buttons, path, paths, "button", collector)
            _in_each_language(action, path, collector, channel)
        elif isinstance(action, SendList):
            _in_each_language(action, path, collector, channel)
        elif isinstance(action, SendDynamicOptions):
            _check_dynamic_options(action, path, keys_set, collector, channel)
        elif isinstance(action, SendTemplate):
            check_send_template(action, path, collector, templates=channel.capabilities.templates)
        if action.when is not None:
            check_condition(collector, f"{path}.when", action.when)
        _check_action_templates(action, path, collector)


def _check_action_templates(action: Action, path: str, collector: IssueCollector) -> None:
    plain = _NOT_TEMPLATES.get(action.action, set())
    fields = action.model_dump(exclude={"action", "when", *plain})
    as_data = _RENDERED_AS_DATA.get(action.action, set())
    own = _OWN_NAMES.get(action.action, {})
    rest = {k: v for k, v in fields.items() if k not in as_data and k not in own}
    check_templates(collector, path, rest)
    for key in sorted(as_data & fields.keys()):
        check_templates(collector, key_path(path, key), fields[key], as_data=True)
    for key, names in sorted(own.items()):
        check_templates(collector, key_path(path, key), fields.get(key), names=names)


def data_keys_set(spec: FlowSpec) -> set[str]:
    """Top-level `data` keys some part of the flow writes (for `send_dynamic_options`)."""
    return {key.split(".", 1)[0] for key in data_keys_written(spec)}


def data_keys_written(spec: FlowSpec) -> set[str]:
    """The `data` keys the flow writes, as written (`result_key: booking.slots` stays whole):
    result keys, `set_data` (actions and transitions), a task's carried `data`, suffixes and
    the `service_<p>` keys they expand to. Keys are names, never templates, so nothing else in
    the flow writes one; the engine's own (`contact_name`, `today`) are not among them."""
    keys: set[str] = set()
    for _, action in iter_actions(spec):
        if isinstance(action, InvokeConnector) and action.result_key:
            keys.add(action.result_key)
        elif isinstance(action, SetData):
            keys.update(action.values)
        elif isinstance(action, ScheduleTask):
            keys.update(action.data)
            if action.result_key:
                keys.add(action.result_key)
    extracts = False
    for _, transition in iter_transitions(spec):
        keys.update(transition.set_data)
        if transition.extract_suffix_as:
            keys.add(transition.extract_suffix_as)
            extracts = True
    if extracts:  # services expansion copies each property p to `service_<p>`
        keys.update(f"service_{p}" for service in spec.services.values() for p in service)
    return {str(key) for key in keys}


@dataclass(frozen=True, slots=True)
class _ConnectorNames:
    """What a flow may call: `categories` bare or as `<category>.<name>`; when the tenant is
    known, its `bindings` (its `connectors:` keys) are the only named bindings there are."""

    categories: frozenset[str]
    operations: Mapping[str, frozenset[str]] | None
    bindings: frozenset[str] | None

    def check(self, action: InvokeConnector, path: str, collector: IssueCollector) -> None:
        name, operation = action.connector, action.operation
        problem = binding_name_problem(name)
        if problem is not None:
            collector.error(f"{path}.connector", problem)
            return
        category = connector_category(name)
        if category not in self.categories:
            collector.error(f"{path}.connector", self._unknown_category(name, category))
            return
        operations = self.operations or {}
        if self.bindings is not None and is_named_binding(name) and name not in self.bindings:
            collector.error(f"{path}.connector", self._unbound(name, category))
            # Its operation is still checked, against its category's: a misspelt one in the
            # same call is said now, not once the binding's name is fixed (a walk-through).
            known = operations.get(category)
        else:
            known = operations.get(name, operations.get(category))
        if known is not None and operation not in known:
            hint = did_you_mean(operation, known)
            collector.error(
                f"{path}.operation",
                f"unknown operation {operation!r} for connector {name!r}{hint} "
                f"(known: {', '.join(sorted(known))})",
            )

    def _unknown_category(self, name: str, category: str) -> str:
        instead = not_a_connector(category)
        if instead is not None:
            return instead
        known = ", ".join(sorted(self.categories))
        if is_named_binding(name):
            hint = did_you_mean(category, self.categories)
            return f"unknown connector category {category!r} in {name!r}{hint} (known: {known})"
        # A binding's own name without its category (`front_desk` for notification.front_desk)
        # is the likeliest slip once a tenant binds several of one category.
        named = sorted(b for b in self.bindings or () if b.partition(SEPARATOR)[2] == name)
        hint = f" (did you mean {named[0]!r}?)" if named else did_you_mean(name, self.categories)
        if hint:
            return f"unknown connector {name!r}{hint} (known: {known})"
        return (
            f"unknown connector {name!r} (known: {known}; more connectors of a category are "
            "called <category>.<name>, e.g. notification.front_desk)"
        )

    def _unbound(self, name: str, category: str) -> str:
        bindings = self.bindings or frozenset()
        same = sorted(b for b in bindings if connector_category(b) == category)
        bound = ", ".join(same) if same else f"no {category} connector"
        return f"unknown connector {name!r}{did_you_mean(name, bindings)}: the tenant binds {bound}"


def check_task_name(spec: FlowSpec, task: str, path: str, collector: IssueCollector) -> None:
    if task not in spec.tasks:
        defined = ", ".join(spec.tasks) or "none"
        hint = did_you_mean(task, spec.tasks)
        collector.error(path, f"unknown task {task!r}{hint} (tasks defined: {defined})")


def check_duration(text: str, path: str, collector: IssueCollector) -> None:
    if is_template(text):
        check_templates(collector, path, text)
        return
    try:
        parse_duration(text)
    except ValueError as exc:
        collector.error(path, str(exc))


#: The most options (buttons, rows) the menus' language copies check in one flow: a real one
#: has a few thousand (50 menus, 5 languages, 10 options); a hostile upload of thousands of
#: menus in a thousand languages took minutes of the control plane's CPU.
MAX_LANGUAGE_OPTIONS = 20_000
_LANGUAGE_VIEWS_KEY = ("content_checks", "language views budget")


def _option_count(menu: SendButtons | SendList) -> int:
    if isinstance(menu, SendButtons):
        return len(menu.buttons)
    return sum(len(section.rows) for section in menu.sections) + len(menu.sections)


def _in_each_language(
    action: SendButtons | SendList, path: str, collector: IssueCollector, channel: ChannelLimits
) -> None:
    """The menu's limits checked as written, then as each language of `texts` writes the words
    it reads there (`_texts_titles`): what only a language's copy breaks is said naming it."""

    def check(menu: SendButtons | SendList, into: IssueCollector) -> None:
        if isinstance(menu, SendButtons):
            _check_button_limits(menu, path, into, channel)
        else:
            _check_list(menu, path, into, channel)

    written = IssueCollector(collector.source, collector.lines)
    check(action, written)
    told = {(issue.path, issue.message) for issue in written.issues}
    for issue in written.issues:
        report = collector.error if issue.severity == "error" else collector.warning
        report(issue.path, issue.message)
    budget: list[int] = collector.once(_LANGUAGE_VIEWS_KEY, lambda: [MAX_LANGUAGE_OPTIONS])
    for language, view in language_views(action, collector.text_table):
        budget[0] -= _option_count(view)
        if budget[0] < 0:
            if budget[0] + _option_count(view) >= 0:  # said once, at the first one left out
                collector.warning(
                    "texts",
                    f"menu words read from texts are measured in each language for the first "
                    f"{MAX_LANGUAGE_OPTIONS} options in all; this flow has more, so later "
                    "menus are measured as written only",
                )
            return
        local = IssueCollector(collector.source, collector.lines)
        check(view, local)
        for issue in local.issues:
            if (issue.path, issue.message) in told:
                continue
            told.add((issue.path, issue.message))
            collector.warning(issue.path, f"in {language} (from texts.{language}): {issue.message}")


def _check_unique_ids(
    options: list[OptionSpec], base: str, paths: list[str], noun: str, collector: IssueCollector
) -> None:
    """Option ids must differ within one action (`base`): the reply only carries the id."""
    first: dict[str, str] = {}
    for option, path in zip(options, paths, strict=True):
        if option.id in first:
            message = f"duplicate {noun} id {option.id!r} (already used by {first[option.id]})"
            collector.error(f"{path}.id", message)
        else:
            first[option.id] = path.removeprefix(f"{base}.")


def _check_button_limits(
    action: SendButtons, path: str, collector: IssueCollector, channel: ChannelLimits
) -> None:
    """What the channel does with more buttons, or longer titles, than it shows
    (`botfleet.domain.degrade`): the message still goes, in another form."""
    caps, name = channel.capabilities, channel.name
    count = len(action.buttons)
    shown = caps.max_buttons if caps.buttons else 0
    if shown < count and caps.lists and count <= caps.max_list_rows:
        collector.warning(
            f"{path}.buttons",
            f"{count} buttons: {name} shows at most {shown}, so it gets them as "
            f"{channel.list_form}; keep {shown} buttons, or use "
            "send_interactive_list to write the list yourself",
        )
    elif shown < count:
        rows = f"{caps.max_list_rows} list rows" if caps.lists else "no lists"
        collector.warning(
            f"{path}.buttons",
            f"{count} buttons: {name} shows at most {shown} buttons and {rows}, so it gets "
            "them as numbered text, answered by typing a number; keep "
            f"{shown} buttons, or split the choice in two steps",
        )
    # Titles are cut to the form the buttons go out in: buttons, list rows (more buttons than
    # the channel shows), or numbered text (no limit: the title is a line of the text).
    limit: int | None = caps.max_button_title
    listed = caps.lists and count <= caps.max_list_rows
    if shown < count:
        limit = caps.max_row_title if listed else None
    elif listed and any(_long_literal(b.title, caps.max_button_title) for b in action.buttons):
        # A title a button would cut goes out in a list row instead, shown whole
        # (`degrade`): one warning for the action, naming the titles.
        longest = max(len(b.title) for b in action.buttons if not is_template(b.title))
        collector.warning(
            f"{path}.buttons",
            f"a title of {longest} characters: {name} shows at most {caps.max_button_title} "
            f"on a button, so it gets these buttons as {channel.list_form}, each title shown "
            f"whole (a row shows {caps.max_row_title}, the rest under it); keep titles to "
            f"{caps.max_button_title} characters for buttons",
        )
        limit = None
    for index, button in enumerate(action.buttons):
        if limit is not None:
            title_path = f"{path}.buttons[{index}].title"
            _warn_long(button.title, limit, title_path, collector, channel)
    _check_same_titles(action, path, collector, channel)


def _long_literal(text: str, limit: int) -> bool:
    return len(text) > limit and not is_template(text)


def _check_same_titles(
    action: SendButtons, path: str, collector: IssueCollector, channel: ChannelLimits
) -> None:
    """Two buttons whose titles read the same as sent (`botfleet.domain.degrade`: blanks at the
    ends and runs of blanks do not count; where no list can show them whole, titles are cut to
    the channel's `max_button_title`)."""
    caps = channel.capabilities
    # Titles a button would cut go out as list rows, shown whole: only a channel without
    # lists (or too many for one) cuts them.
    cut = not (caps.lists and len(action.buttons) <= caps.max_list_rows)
    first: dict[str, int] = {}
    for index, button in enumerate(action.buttons):
        shown = button.title.strip() or button.id.strip()
        if is_template(shown):
            continue  # what it reads is only known once rendered
        key = " ".join((shorten(shown, caps.max_button_title) if cut else shown).split())
        if key not in first:
            first[key] = index
            continue
        earlier = action.buttons[first[key]]
        read = " ".join(shown.split())
        how = (
            f"both read {read!r} (blanks at the ends and runs of blanks do not count)"
            if " ".join((earlier.title.strip() or earlier.id.strip()).split()) == read
            else f"both become {key!r}, cut to {channel.name}'s {caps.max_button_title} characters"
        )
        sent = ""
        if len(action.buttons) <= caps.max_buttons:  # more are a list (or text) anyway
            why = (
                f"{channel.name} refuses a title twice in one message, so it"
                if channel.refuses_same_titles
                else channel.name
            )
            sent = f"{why} gets these buttons as {channel.list_form}; "
        collector.warning(
            f"{path}.buttons[{index}].title",
            f"buttons[{first[key]}] and buttons[{index}] {how}: {sent}a person cannot tell "
            "them apart, nor does typing the title pick either; make the titles differ",
        )


def _check_list(
    action: SendList, path: str, collector: IssueCollector, channel: ChannelLimits
) -> None:
    caps = channel.capabilities
    rows: list[OptionSpec] = []
    paths: list[str] = []
    for s, section in enumerate(action.sections):
        for r, row in enumerate(section.rows):
            rows.append(row)
            paths.append(f"{path}.sections[{s}].rows[{r}]")
    _check_unique_ids(rows, path, paths, "row", collector)
    most = caps.max_list_rows if caps.lists else 0
    if len(rows) > most:
        collector.warning(
            f"{path}.sections",
            f"{len(rows)} rows in all: {channel.name} lists hold at most {most}, so it gets "
            "them as numbered text, answered by typing a number; keep "
            f"{most} rows, e.g. by splitting the choice in two steps",
        )
    for row, row_path in zip(rows, paths, strict=True):
        _warn_long(row.title, caps.max_row_title, f"{row_path}.title", collector, channel)
        description_path = f"{row_path}.description"
        limit = caps.max_row_description
        _warn_long(row.description, limit, description_path, collector, channel)
    _warn_long_label(action.button_label, path, collector, channel)
    for index, section in enumerate(action.sections):
        # Degradation cuts a section's title as it cuts a row's.
        title_path = f"{path}.sections[{index}].title"
        _warn_long(section.title, caps.max_row_title, title_path, collector, channel)


def _warn_long_label(
    label: str | None, path: str, collector: IssueCollector, channel: ChannelLimits
) -> None:
    # Left out: a built-in word, which fits. Degradation cuts it as a button's title.
    if label is not None and channel.list_button:
        limit = channel.capabilities.max_button_title
        _warn_long(label, limit, f"{path}.button_label", collector, channel)


def _warn_long(
    text: str, limit: int, path: str, collector: IssueCollector, channel: ChannelLimits
) -> None:
    # A template's length is only known once rendered, so only literal text is measured.
    if len(text) > limit and not is_template(text):
        collector.warning(
            path,
            f"{len(text)} characters: {channel.name} shows at most {limit}, so it gets "
            f"{shorten(text.strip(), limit)!r}",
        )


def _check_dynamic_options(
    action: SendDynamicOptions,
    path: str,
    keys_set: set[str],
    collector: IssueCollector,
    channel: ChannelLimits,
) -> None:
    _check_source_key(action, path, keys_set, collector)
    _warn_long_label(action.button_label, path, collector, channel)
    if action.description is not None:  # as a list row's own (`_check_list`)
        limit = channel.capabilities.max_row_description
        _warn_long(action.description, limit, f"{path}.description", collector, channel)


def _check_source_key(
    action: SendDynamicOptions, path: str, keys_set: set[str], collector: IssueCollector
) -> None:
    key = action.source_key.split(".", 1)[0]
    if key not in keys_set:
        collector.warning(
            f"{path}.source_key",
            f"source_key {action.source_key!r} is never set by this flow (no invoke_connector "
            "result_key, set_data or extract_suffix_as writes it)",
        )
