"""`botfleet serve control-plane`: the control plane's server process.

Everything a start can be refused for without the database (the settings, the host, the port)
is found before the app's lifespan runs the migrations and the bootstrap, so a refused start
leaves the database as it was and logs no `control plane started` before dying. Each refusal
is one line and status 2, as the data plane's (botfleet.cli.data_plane_server); uvicorn's own
status 3 is left for what nothing explains. This module imports nothing heavy at its top.
"""

from __future__ import annotations

from typing import NoReturn


def serve_control_plane(host: str | None = None, port: int | None = None) -> None:
    """Serve the control plane until stopped (uvicorn; other settings from CP_* variables)."""
    import uvicorn

    from botfleet.cli.listening import bind_listening_sockets, port_problem, serve_on
    from botfleet.control_plane.app import create_app, settings_from_env
    from botfleet.control_plane.logs import configure_logging
    from botfleet.observability import level_number
    from botfleet.startup_problems import listen_problem, startup_problem

    settings = settings_from_env()
    # From here every line of the process is one JSON object on stdout (CP_LOG_JSON), the
    # libraries' included. A generated secret is logged as a warning when the app starts.
    configure_logging(settings.log_level, json=settings.log_json, libraries=True)
    listen_host = host or settings.host
    listen_port = port or settings.port
    unusable = listen_problem(listen_host, "--host" if host else "CP_HOST")
    if unusable is not None:
        cannot_start(unusable)
    try:
        sockets = bind_listening_sockets(listen_host, listen_port)
    except OSError as exc:
        setting = "--port" if port else "CP_PORT"
        holder = "another control plane"
        cannot_start(port_problem(listen_host, listen_port, setting, exc, holder=holder))
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=listen_host,
        port=listen_port,
        log_level=level_number(settings.log_level),
        # uvicorn's lines (start, stop, errors) go through the root handler that
        # `configure_logging` installed, rather than its own plain-text handlers.
        log_config=None,
        # Request lines carry query strings; the control plane logs each request itself.
        access_log=False,
    )
    try:
        serve_on(config, sockets)
    except SystemExit as exit_:
        # A database that could not be used, already said in one line, is a start-up error
        # like invalid settings: 2, where uvicorn exits with 3.
        if exit_.code != 0 and startup_problem(app) is not None:
            raise SystemExit(2) from None
        raise


def cannot_start(problem: str) -> NoReturn:
    """End the process with status 2 after the JSON line `control plane cannot start:
    <problem>` (component `serve`), the process's log being JSON lines on stdout."""
    from botfleet.control_plane.logs import get_logger

    get_logger("serve").error(f"control plane cannot start: {problem}")
    raise SystemExit(2)
