"""Structured logging setup (structlog, JSON lines in production), and the imports a server
process leaves out (`server_imports`)."""

from __future__ import annotations

import hashlib
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    import structlog
    from structlog.typing import EventDict

#: Optional packages that libraries pick up only because they are installed (typer needs rich;
#: SQLAlchemy needs greenlet), which a server process never uses: `rich` (with pygments and
#: attrs, ~4 MB of RSS) gives structlog's console renderer pretty tracebacks and httpx its
#: command-line client, which imports `pygments` before rich (~0.5 MB); `greenlet` (with
#: libstdc++, ~1.5 MB) gives structlog a deprecated greenlet-local context. Each of the others
#: is an optional import its library does without (idle RSS of the demo data plane, MB):
#: `pydantic.v1` (-1.3) only lets FastAPI reject pydantic v1 models, which botfleet does not
#: use (its check returns False when the import fails); `watchfiles` (-0.65) is uvicorn's
#: reloader (the server never reloads; uvicorn falls back to its stat reloader, unused too);
#: `python_multipart` and its old name `multipart` (-0.23) parse form bodies, and no data
#: plane route takes a form; `yaml._yaml` (-0.1) is libyaml behind PyYAML's C loaders, and
#: botfleet reads YAML with the pure-Python `SafeLoader` / `safe_load`.
SERVER_HIDDEN = (
    "rich",
    "pygments",
    "pydantic.v1",
    "watchfiles",
    "python_multipart",
    "multipart",
    "yaml._yaml",
)
SERVER_HIDDEN_DURING_STRUCTLOG_IMPORT = ("greenlet",)


@contextmanager
def hidden_imports(*names: str) -> Iterator[None]:
    """Inside the block, `import name` raises ImportError for each of `names` not imported yet
    (a None entry in sys.modules, as Python documents); afterwards they import normally again.
    Libraries that check for an optional package once, at their own import, keep the answer."""
    hidden = [name for name in names if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


@contextmanager
def server_imports() -> Iterator[None]:
    """For the life of a server (the data plane): structlog is imported without rich and
    greenlet, and `SERVER_HIDDEN` (rich, pygments, pydantic.v1, ...) stays hidden until the
    block ends, so httpx (imported later by channels that call provider APIs, or by the
    control-plane pull) leaves rich and pygments out too, and FastAPI, uvicorn and PyYAML
    their optional parts. Nothing in a server renders to a terminal; the only loss is rich's
    tracebacks in console logs (plain ones instead). CLI commands that print with rich run
    outside the block."""
    with hidden_imports(*SERVER_HIDDEN):
        with hidden_imports(*SERVER_HIDDEN_DURING_STRUCTLOG_IMPORT):
            import structlog  # noqa: F401  (decides about rich and greenlet now)
        yield


#: Libraries whose info lines are noise or leak: httpx logs every request's URL (one line per
#: config poll, for ever; a Telegram bot token sits in its path), httpcore each connection step.
#: The anthropic and openai SDKs ship their own fork of the pair (httpx2, httpcore2): one line
#: per LLM call otherwise.
QUIET_LIBRARIES = ("httpx", "httpcore", "httpx2", "httpcore2")

#: Secrets a library's line could quote: a URL's password, its query string (Meta's verify
#: token, signed links), a Telegram `/bot<token>` path, credentials in a header.
_SECRETS_IN_TEXT = (
    (re.compile(r"(://[^/\s:@]*:)[^@\s/]*@"), r"\1[redacted]@"),
    (re.compile(r"(https?://[^\s?#\"']*\?)[^\s\"'#]+"), r"\1[redacted]"),
    (re.compile(r"/bot\d+:[\w-]+"), "/bot[redacted]"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[\w.~+/=-]+"), r"\1 [redacted]"),
    (
        re.compile(
            r"(?i)((?:authorization|x-[\w-]*token|x-api-key)['\"]?\s*[:=,]\s*['\"]?)[^\s'\",}]+"
        ),
        r"\1[redacted]",
    ),
)


def scrub_text(text: str) -> str:
    """`text` with the secrets of `_SECRETS_IN_TEXT` replaced by `[redacted]`."""
    for pattern, replacement in _SECRETS_IN_TEXT:
        text = pattern.sub(replacement, text)
    return text


def _scrub_library_line(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    # botfleet's own lines never hold secrets (bindings stay out of reprs; tests grep for
    # them); a library's line is text nobody here wrote, so its strings are scrubbed.
    return {
        key: scrub_text(value) if isinstance(value, str) else value
        for key, value in event_dict.items()
    }


#: The tenant a process serves (`botfleet serve data-plane` serves one), added as `tenant` to
#: each of its lines that names none: the libraries', and its own lines outside a turn (a
#: channel's webhook refusing a signature, skipping a delivery). None, the default: nothing is
#: added (the control plane, CLI commands, tests running several tenants in one process).
#: Set by `configure_logging(tenant=...)` and `set_log_tenant`, never by building an app.
_process_tenant: str | None = None


def set_log_tenant(tenant: str | None) -> None:
    """From now on, every line of this process names `tenant` (None: no tenant is added)."""
    global _process_tenant
    _process_tenant = tenant


def log_tenant() -> str | None:
    """The tenant `set_log_tenant` gave, if any."""
    return _process_tenant


def _add_process_tenant(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    if _process_tenant is not None:
        event_dict.setdefault("tenant", _process_tenant)
    return event_dict


#: WhatsApp's message ids (`wamid.` and base64) spell the sender's phone number: a line naming
#: one beside the hashed `contact` would undo the hash (a data-protection review found it).
_WAMID_PREFIX = "wamid."


_WAMID = re.compile(r"wamid\.[A-Za-z0-9+/=_-]+")


def _wamid_digest(found: re.Match[str]) -> str:
    digest = hashlib.sha256(found[0].encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"wamid#{digest}"


def _hide_wamids(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    """A WhatsApp message id is logged as a digest of it (`wamid#` and 16 hex digits), in
    `message_id` and inside any text (an error's `detail` quoting it): the same message gives
    the same digest, so lines about one message still meet, and none names the number. A
    substring test per text field; the pattern runs only where one is."""
    for key, value in event_dict.items():
        if isinstance(value, str) and _WAMID_PREFIX in value:
            event_dict[key] = _WAMID.sub(_wamid_digest, value)
    return event_dict


#: A stdlib record carrying this attribute (true) holds a line botfleet rendered, and redacted,
#: itself (the control plane's loggers: `botfleet.control_plane.logs`); the root handler writes
#: its message as it is, rather than as the `event` of a line of its own.
RENDERED_LINE = "botfleet_rendered_line"


class LibraryLogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The root handler `configure_logging` installs (found again, and replaced, by type)."""

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, RENDERED_LINE, False):
            return record.getMessage()
        return super().format(record)


def library_log_handler(json: bool, stream: TextIO | None = None) -> logging.Handler:
    """A handler rendering stdlib records (uvicorn, APScheduler, httpx, ...) as botfleet's own
    lines: a JSON object per line with `event`, `level`, `logger` and `timestamp`, or console
    text."""
    import structlog

    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _scrub_library_line,
            _add_process_tenant,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _renderer(json),
        ],
    )
    handler = LibraryLogHandler(stream if stream is not None else sys.stdout)
    handler.setFormatter(formatter)
    return handler


UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def install_library_handler(level: int, json: bool, stream: TextIO | None = None) -> None:
    """Route every stdlib record at `level` and up through `library_log_handler` (replacing
    one installed before), with `QUIET_LIBRARIES` at warning whatever `level` is, and Python's
    warnings (`warnings.warn`, which print to stderr) made records of logger `py.warnings`."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, LibraryLogHandler)]:
        root.removeHandler(old)
    root.addHandler(library_log_handler(json, stream))
    root.setLevel(level)
    # uvicorn's own logging config (applied when a server was started with one) gives its
    # loggers plain-text handlers and stops propagation: their lines would bypass the root.
    for name in UVICORN_LOGGERS:
        own = logging.getLogger(name)
        for handler in list(own.handlers):
            own.removeHandler(handler)
        own.propagate = True
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    # Off, then on: `captureWarnings(True)` does nothing while logging believes it captures,
    # even when something has since put its own `warnings.showwarning` back (pytest does,
    # around every test), and those warnings would bypass the handler.
    logging.captureWarnings(False)
    logging.captureWarnings(True)


def _renderer(json: bool) -> structlog.types.Processor:
    import structlog

    if json:
        return structlog.processors.JSONRenderer()
    return structlog.dev.ConsoleRenderer()


def level_number(level: str) -> int:
    numeric = logging.getLevelName(level.upper())
    return numeric if isinstance(numeric, int) else logging.INFO


def configure_logging(
    level: str = "info",
    *,
    json: bool = True,
    stream: TextIO | None = None,
    tenant: str | None = None,
) -> None:
    """JSON lines to stdout (or `stream`) with ISO timestamps; console output when
    `json=False`. Libraries' stdlib records are rendered the same way, so every line of the
    process parses (see `install_library_handler`). `tenant`: the one tenant this process
    serves, named by every line from now on (`set_log_tenant`; None: none)."""
    import structlog

    set_log_tenant(tenant)
    numeric = level_number(level)
    install_library_handler(numeric, json, stream)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _add_process_tenant,
            _hide_wamids,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _renderer(json),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=True,
    )
