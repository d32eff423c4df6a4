"""`botfleet chat TENANT.yaml`: talk to a bot in the terminal (piped input works too)."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from pathlib import Path

import typer

from botfleet.cli.options import Channel, LogLevel


def chat(
    tenant_file: Path = typer.Argument(
        ..., metavar="TENANT", help="A tenant YAML (or a flow YAML, run as a local tenant)."
    ),
    state: str | None = typer.Option(None, "--state", help="Start in this state (it runs)."),
    data: list[str] = typer.Option(
        [], "--data", metavar="KEY=VALUE", help="Put a value in the data first (repeatable)."
    ),
    contact: str = typer.Option("terminal", "--contact", help="The contact id you talk as."),
    name: str = typer.Option("", "--name", help="Your profile name (contact.name)."),
    at: str | None = typer.Option(
        None,
        "--at",
        help="Freeze the clock here, ISO 8601 (2024-05-06T09:00, default now); :wait moves it.",
    ),
    channel: Channel | None = typer.Option(
        None,
        "--channel",
        case_sensitive=False,
        help="Show the outputs as this channel sends them, presses as it delivers them "
        "(default: the tenant's channel; the web chat for a flow file).",
    ),
    fixtures: Path | None = typer.Option(
        None,
        "--fixtures",
        metavar="FILE",
        help="Connector fixtures: a YAML file with the `connectors:` mapping of a conversation "
        "test (or a test itself), e.g. a webhook's scripted answers by event.",
    ),
    log_level: LogLevel | None = typer.Option(
        None,
        "--log-level",
        case_sensitive=False,
        help="Show the runtime's log lines at this level on stderr.",
    ),
) -> None:
    """Chat with a bot in the terminal: choices are numbered, connectors are mocks."""
    from botfleet.cli.chat_session import chat_session, mock_llm, parse_data, show_flow_notice
    from botfleet.cli.flow_files import FlowFileError, is_tenant_file, read_tenant
    from botfleet.cli.logs import command_logs
    from botfleet.domain.errors import ConfigError
    from botfleet.flows._issues import did_you_mean
    from botfleet.testing.conversation_fixtures import FixturesError, check_fixtures, load_fixtures
    from botfleet.testing.sandbox import Contact

    try:
        # The flow is loaded here, where a broken one is reported, not inside the session.
        config, flow = read_tenant(tenant_file)
        values = parse_data(data)
        llm = mock_llm(config)
        start = _moment(at)
    except (FlowFileError, ConfigError, ValueError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    if state is not None and state not in flow.spec.states:  # said before the chat starts
        hint = did_you_mean(state, flow.spec.states)
        typer.echo(f"error: the flow has no state {state!r}{hint}", err=True)
        raise typer.Exit(1)
    scripted = None
    if fixtures is not None:
        try:
            loaded = load_fixtures(fixtures)
            # Checked as a test's are, so a broken fixture is a located error, not a traceback
            # from inside the chat.
            check_fixtures(
                loaded, config, flow.spec, default_calendar=not is_tenant_file(tenant_file)
            )
        except FixturesError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from None
        scripted = loaded.connectors
    # The flow's warnings go in the transcript, whatever --log-level is: a typo in a template
    # otherwise only shows as a blank in the bot's text.
    with command_logs(log_level.value if log_level else None, intercept=show_flow_notice):
        session = chat_session(
            config,
            flow,
            llm,
            Contact(contact, name),
            start,
            state,
            values,
            sys.stdin.readline,
            echo=not sys.stdin.isatty(),
            default_calendar=not is_tenant_file(tenant_file),
            channel=channel.value if channel else None,
            fixtures=scripted,
        )
        code = asyncio.run(session)
    if code:
        raise typer.Exit(code)


def _moment(text: str | None) -> datetime | None:
    """`--at`: an ISO 8601 date and time; without an offset it is in the tenant's zone."""
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        example = "2024-05-06T09:00"
        raise ValueError(f"--at {text!r}: expected a date and time such as {example}") from None
