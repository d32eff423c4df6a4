"""Google Calendar's service-account credentials, and the HTTP objects requests go through.

httplib2 is not thread-safe, so every request gets its own `httplib2.Http` (authorised with the
service account's key when there is one), and none follows redirects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botfleet.adapters.connectors.calendar.config import GoogleCalendarSettings
from botfleet.adapters.connectors.calendar.google_key import KeyUnusable, key_problem, parsed_key

SCOPES = ("https://www.googleapis.com/auth/calendar",)

HttpFactory = Callable[[], Any]


def credentials(settings: GoogleCalendarSettings) -> Any:
    """The service account's credentials from `credentials_path` or `service_account_info`
    (None when neither is set: a local fake).

    Raises:
        ValueError: the key is unusable; the message names the setting and what is wrong
            with the key (`google_key.py`), never the key.
    """
    from google.oauth2 import service_account

    info = settings.service_account_info
    where = "credentials_path" if settings.credentials_path else "service_account_info"
    try:
        if settings.credentials_path:
            raw = _key_file(settings.credentials_path)
        elif info is None:
            return None
        else:
            raw = info if isinstance(info, dict) else parsed_key(info.get_secret_value())
        problem = key_problem(raw)
        if problem is not None:
            raise KeyUnusable(problem)
        try:
            return service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                raw, scopes=SCOPES
            )
        except TypeError:
            # cryptography's answer to a key encrypted with a password (a PKCS#8 export of
            # one's own, not Google's download).
            raise KeyUnusable(
                "its private_key is encrypted with a password: use the JSON key file as Google "
                "gave it"
            ) from None
        except (ValueError, KeyError) as exc:
            # google-auth's own messages may quote the key: only the class names what failed.
            raise KeyUnusable(
                f"its private_key does not load, {type(exc).__name__}: use the key file as "
                "Google gave it"
            ) from None
    except KeyUnusable as exc:
        raise ValueError(f"{where}: not a usable service-account key ({exc})") from None


def _key_file(path: str) -> Any:
    """The parsed JSON of the key file at `path` (the path is the operator's own setting, so
    the message does not repeat it).

    Raises:
        KeyUnusable: the file cannot be read, or holds no JSON.
    """
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except FileNotFoundError:
        raise KeyUnusable("no such file on the data plane's host") from None
    except IsADirectoryError:
        raise KeyUnusable("the path is a folder, not the key file") from None
    except PermissionError:
        raise KeyUnusable("the data plane may not read the file (permission denied)") from None
    except UnicodeDecodeError:
        raise KeyUnusable("not a text file (a .p12 key? give the JSON key file)") from None
    except OSError as exc:
        raise KeyUnusable(f"the file cannot be read ({type(exc).__name__})") from None
    return parsed_key(text)


def service_account_info_problem(settings: GoogleCalendarSettings) -> str | None:
    """Why `build` would refuse the `service_account_info` of `settings` at boot (never the key
    itself), or None, also when there is none. Lets the control plane refuse a key before
    storing it. A `credentials_path` is not read: it names a file on the data plane's host."""
    if settings.service_account_info is None or settings.credentials_path:
        return None
    try:
        credentials(settings)
    except ValueError as exc:
        return str(exc).removeprefix("service_account_info: ")
    return None


def no_redirects(http: Any) -> Any:
    """`http` (an `httplib2.Http`) set never to follow a redirect: a 3xx would send the request
    again, its bearer token included, to wherever it points (an internal address, another
    host). The 3xx comes back as the answer, an `HttpError` reported as a failure. The token
    request (`token_uri`) goes through the same object, so it does not follow either."""
    http.follow_redirects = False
    return http


def plain_http(settings: GoogleCalendarSettings) -> Any:
    """An unauthorised `httplib2.Http` that follows no redirect."""
    import httplib2  # type: ignore[import-untyped]

    return no_redirects(httplib2.Http(timeout=settings.request_timeout_s))


def http_factory(settings: GoogleCalendarSettings) -> HttpFactory:
    """Makes the HTTP object of one request: authorised with the service account's key when
    there is one (the key is read now, so an unusable one fails at boot).

    Raises:
        ValueError: the key is unusable (see `credentials`).
    """
    return authorised_http(settings, credentials(settings))


def authorised_http(settings: GoogleCalendarSettings, key: Any | None) -> HttpFactory:
    """Makes the HTTP object of one request, authorised with `key` (`credentials`) when not
    None."""

    def factory() -> Any:
        plain = plain_http(settings)
        if key is None:
            return plain
        from google_auth_httplib2 import AuthorizedHttp  # type: ignore[import-untyped]

        return AuthorizedHttp(key, http=plain)

    return factory
