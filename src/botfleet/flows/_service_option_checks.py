"""Static check: an option whose id names a service names one the flow has. Pure.

A menu of services is buttons or rows `service_<key>` answered by a transition with
`on_payload_prefix: service_` and `extract_suffix_as`: the suffix, a key of `services`, copies
that service's properties into `data.service_*`. An option added to the menu but not to
`services` books with no name, length or price (`" el Mar 5 ene a las 10:00 ( €)"`), and
nothing said so but a `missing value` line at run time.
"""

from __future__ import annotations

from botfleet.flows._issues import IssueCollector, did_you_mean
from botfleet.flows._option_checks import _is_template, _offered, _waiting_state
from botfleet.flows._spec_walk import state_path
from botfleet.flows.schema import FlowSpec
from botfleet.flows.yaml_lines import key_path


def check_service_options(spec: FlowSpec, collector: IssueCollector) -> None:
    """Warn for each option whose suffix after a prefix that names services elsewhere (another
    option of the menu is a service) is no key of `services`."""
    if not spec.services:
        return
    for name, state in spec.states.items():
        waiting = _waiting_state(spec, name)
        if waiting is None:
            continue
        prefixes = {
            t.on_payload_prefix
            for t in spec.states[waiting].transitions
            if t.extract_suffix_as and t.on_payload_prefix and not _is_template(t.on_payload_prefix)
        }
        offered = list(_offered(key_path(state_path(name), "on_enter"), state.on_enter))
        for prefix in sorted(prefixes):
            options = [
                (path, option_id[len(prefix) :])
                for path, option_id, _ in offered
                if option_id.startswith(prefix)
                and len(option_id) > len(prefix)
                and not _is_template(option_id)
            ]
            if not any(suffix in spec.services for _, suffix in options):
                continue  # the prefix is not a menu of services (days, hours)
            for path, suffix in options:
                if suffix in spec.services:
                    continue
                collector.warning(
                    path,
                    f"{prefix + suffix!r}: {suffix!r} is no key of services"
                    f"{did_you_mean(suffix, spec.services)}, while the other options of "
                    f"{prefix!r} are: picking it sets no data.service_* (its name, length, "
                    f"price...); add services.{suffix}, or fix the id",
                )
