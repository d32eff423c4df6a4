"""Register a tenant from its local files through the control-plane API (idempotent).

    tenant YAML (the data plane's dev format) + its flow + its knowledge
        -> create or update the tenant, upload and publish the flow and the knowledge unless
           the same text is already there, drop the connector bindings the files no longer
           have (after the new flow is published), store the data-plane token, issue a boot
           token

Run it twice and the second run changes nothing. A boot token is only ever shown once: a
new tenant's is returned; an existing tenant keeps its token (the data plane running with it
keeps working) unless `rotate_boot_token` asks for a fresh one (the demo does, for the data
plane it is about to start).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from botfleet.control_plane.client import ControlPlaneAPIError, ControlPlaneClient
from botfleet.control_plane.models import (
    TenantCreate,
    TenantUpdate,
    TenantUpdated,
    TenantView,
    data_plane_url_text,
)
from botfleet.domain.errors import ConfigError, FlowIssue
from botfleet.domain.tenant_config import TenantConfig, tenant_config_from_mapping
from botfleet.flows import yaml_lines
from botfleet.flows.tenant_file import TenantFile, yaml_issue

DATA_PLANE_SCOPE = "data_plane"
#: Connector bindings no flow calls (`botfleet.adapters.connectors.catalog.NOT_CONNECTORS`).
NOT_FLOW_CONNECTORS = frozenset({"llm"})


class TenantFilesError(ValueError):
    """A tenant's files cannot be used: the message is one `file[:line][ key]: what` line per
    problem, as `botfleet validate` reports them. `issue` is the first of `issues`."""

    def __init__(self, issue: FlowIssue, *more: FlowIssue) -> None:
        self.issue = issue
        self.issues = (issue, *more)
        super().__init__("\n".join(str(i) for i in self.issues))


class _Unreadable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _read_text(path: Path, *, named: bool = False) -> str:
    """The UTF-8 text of `path`; `_Unreadable` says why not (naming `path` when `named`: a
    file another file points to)."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        reason = "file not found"
    except IsADirectoryError:
        reason = "is a directory, not a file"
    except OSError as exc:
        reason = f"cannot read: {exc.strerror or type(exc).__name__}"
    except UnicodeDecodeError as exc:
        reason = f"not UTF-8 text ({exc.reason} at byte {exc.start})"
    raise _Unreadable(f"{reason}: {path}" if named else reason)


@dataclass(frozen=True, slots=True)
class TenantFiles:
    """A tenant as local files: what `provision_tenant` sends."""

    config: TenantConfig
    flow_yaml: str
    knowledge: str | None

    @classmethod
    def load(cls, tenant_yaml: Path) -> TenantFiles:
        """Read the tenant YAML and the flow and knowledge files it points to.

        Raises:
            TenantFilesError: a file cannot be read, is not UTF-8 text, not well-formed YAML
                (or repeats a key), or the tenant file is invalid: one line per problem,
                `file[:line][ key]: what`, as `botfleet validate` words it.
            ValueError: the flow is inline (the control plane stores flows as YAML files).
        """
        source = str(tenant_yaml)
        try:
            document = yaml_lines.load_with_lines(_read_text(tenant_yaml))
        except _Unreadable as exc:
            raise TenantFilesError(FlowIssue(exc.reason, source=source)) from None
        except yaml_lines.YamlSyntaxError as exc:
            raise TenantFilesError(yaml_issue(exc.problem, source)) from None
        if not isinstance(document.data, dict):
            message = "a tenant file must be a mapping (tenant_id, flow_path, ...)"
            raise TenantFilesError(FlowIssue(message, "", 1, source))
        # Located as `botfleet validate` locates them, so both name the same lines.
        located = TenantFile(source, document.lines)
        located.issues += [yaml_issue(problem, source) for problem in document.duplicates]
        try:
            config = tenant_config_from_mapping(
                document.data, source=source, base_dir=tenant_yaml.parent
            )
        except ConfigError as exc:
            located.add_config_error(exc)
            raise TenantFilesError(*located.issues) from None
        if located.issues:  # repeated keys in a file that is otherwise valid
            raise TenantFilesError(*located.issues)

        def linked(key: str, value: str) -> str:
            try:
                return _read_text(config.resolve(value), named=True)
            except _Unreadable as exc:
                line = yaml_lines.line_of(document.lines, key)
                raise TenantFilesError(FlowIssue(exc.reason, key, line, source)) from None

        if config.flow_yaml is not None:
            flow_yaml = config.flow_yaml
        elif config.flow_path is not None:
            flow_yaml = linked("flow_path", config.flow_path)
        else:
            raise ValueError(f"{tenant_yaml}: give the flow as 'flow_path' to provision it")
        knowledge = config.knowledge
        if knowledge is None and config.knowledge_path:
            knowledge = linked("knowledge_path", config.knowledge_path)
        return cls(config, flow_yaml, knowledge)

    def bindings(self) -> dict[str, Any]:
        """The tenant's fields as the control plane's API takes them."""
        config = self.config
        return {
            "name": config.display_name(),
            "timezone": config.timezone,
            "language": config.language,
            "channel": config.channel.model_dump(),
            "more_channels": [b.model_dump() for b in config.more_channels],
            "connectors": {name: b.model_dump() for name, b in config.connectors.items()},
            "llm": config.llm.model_dump(exclude_unset=True, exclude_none=True),
        }


@dataclass(frozen=True, slots=True)
class ProvisionResult:
    tenant_id: str
    #: None when an existing tenant kept its token.
    boot_token: str | None
    created: bool
    flow_version: int
    flow_uploaded: bool
    knowledge_version: int | None
    knowledge_uploaded: bool
    #: The version published before, when `apply` published another one in its place: newer
    #: than `flow_version` when it was published since by other means (upload, rollback) and
    #: the files still hold an older text, which is then published again.
    flow_replaced: int | None = None
    knowledge_replaced: int | None = None
    #: What the update changed in the tenant's stored settings, one line per field
    #: (`setting_changes`): the control plane's own account of what it replaced.
    settings_changed: tuple[str, ...] = ()


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def provision_tenant(
    client: ControlPlaneClient,
    files: TenantFiles,
    *,
    data_plane_url: str | None = None,
    internal_token: str | None = None,
    rotate_boot_token: bool = False,
    drop_stale_credentials: bool = False,
) -> ProvisionResult:
    """Bring the control plane's copy of the tenant in line with `files` (admin key needed).

    An existing tenant's boot token is replaced only with `rotate_boot_token` (that cuts off
    the data plane running with the old one). A binding whose type changes (whatsapp ->
    telegram) is refused while secrets of the old type are stored, unless
    `drop_stale_credentials` deletes them with the change. The stored settings are made the
    files' (a key the files do not have is removed): `settings_changed` says what changed.

    Raises:
        ControlPlaneAPIError: a refusal (an invalid flow lists every issue with its line).
        ControlPlaneConnectionError: the control plane does not answer.
    """
    tenant_id = files.config.tenant_id
    fields = files.bindings()
    if data_plane_url is not None:
        fields["data_plane_url"] = data_plane_url
    token: str | None = None
    dropped: dict[str, Any] = {}
    changed: list[str] = []
    try:
        tenant = client.get_tenant(tenant_id)
    except ControlPlaneAPIError as exc:
        if exc.status != 404:
            raise
        token = client.create_tenant(TenantCreate(id=tenant_id, **fields)).boot_token
    else:
        _unless_unknown(fields, tenant)
        # The control plane refuses bindings the published flow cannot run with, and a flow
        # the bindings cannot run: new connectors must be bound before the new flow is
        # published, dropped ones unbound only after. So the first update keeps the
        # connectors the files drop, and a last one removes them once the flow is published.
        dropped = _dropped_connectors(tenant.connectors, fields["connectors"])
        updated = client.update_tenant(
            tenant_id,
            TenantUpdate(**{**fields, "connectors": {**dropped, **fields["connectors"]}}),
            drop_stale_credentials=drop_stale_credentials,
        )
        if not dropped:
            changed = _changed_by([updated])
        if tenant.status == "disabled":
            client.enable_tenant(tenant_id)
    if internal_token is not None:
        client.set_credentials(tenant_id, DATA_PLANE_SCOPE, {"internal_token": internal_token})
    flow_version, flow_uploaded, flow_replaced = _publish_text(
        files.flow_yaml,
        listing=lambda: client.list_flows(tenant_id),
        publish=lambda v: client.publish_flow(tenant_id, v),
        upload=lambda text: client.upload_flow(tenant_id, text, publish=True).version,
    )
    if dropped:
        unbound = client.update_tenant(tenant_id, TenantUpdate(connectors=fields["connectors"]))
        changed = _changed_by([updated, unbound])
    knowledge_version, knowledge_uploaded, knowledge_replaced = None, False, None
    if files.knowledge is not None:
        knowledge_version, knowledge_uploaded, knowledge_replaced = _publish_text(
            files.knowledge,
            listing=lambda: client.list_knowledge(tenant_id),
            publish=lambda v: client.publish_knowledge(tenant_id, v),
            upload=lambda text: client.upload_knowledge(tenant_id, text, publish=True).version,
        )
    created = token is not None
    if token is None and rotate_boot_token:
        token = client.rotate_boot_token(tenant_id).boot_token
    return ProvisionResult(
        tenant_id,
        token,
        created,
        flow_version,
        flow_uploaded,
        knowledge_version,
        knowledge_uploaded,
        flow_replaced,
        knowledge_replaced,
        tuple(changed),
    )


def _unless_unknown(fields: dict[str, Any], tenant: TenantView) -> None:
    """Leave out the files' empty `more_channels` when the control plane's answer has none: one
    from before them refuses the field, and has no more channels to remove."""
    if not fields.get("more_channels") and "more_channels" not in tenant.model_fields_set:
        fields.pop("more_channels", None)


def _changed_by(updates: list[TenantUpdated]) -> list[str]:
    """What these updates, made one after the other, changed: from what the first found in
    each field (the answers' `before`, read under the tenant's lock, so a change made by
    someone else between the reads is never counted as this one's) to what the last left."""
    before: dict[str, Any] = {}
    for update in reversed(updates):
        before.update(update.before)
    return setting_changes(before, updates[-1].model_dump(mode="json"))


def planned_setting_changes(
    client: ControlPlaneClient, files: TenantFiles, *, data_plane_url: str | None = None
) -> list[str] | None:
    """What `provision_tenant` would change in the stored settings (`setting_changes`'
    lines), changing nothing; None when there is no such tenant (it would be created).
    Flows and knowledge are not compared."""
    try:
        tenant = client.get_tenant(files.config.tenant_id)
    except ControlPlaneAPIError as exc:
        if exc.status != 404:
            raise
        return None
    fields = files.bindings()
    if data_plane_url is not None:
        fields["data_plane_url"] = data_plane_url
    _unless_unknown(fields, tenant)
    # As the update sends them and the control plane stores them, so equal means unchanged.
    body = TenantUpdate(**fields)
    wanted = body.model_dump(mode="json", exclude_unset=True)
    if "data_plane_url" in wanted:
        wanted["data_plane_url"] = data_plane_url_text(body.data_plane_url)
    current = tenant.model_dump(mode="json")
    return setting_changes({field: current[field] for field in wanted}, wanted)


#: The tenant's stored settings, in the order `setting_changes` names them.
SETTING_FIELDS = (
    "name", "timezone", "language", "channel", "more_channels", "connectors", "llm",
    "data_plane_url",
)  # fmt: skip
#: Words of a setting's name (``accessToken``, ``X-Pass``, ``pwd``: see `_name_words`) that
#: mark its value as a secret: never shown.
_SECRET_WORDS = frozenset(
    {"secret", "secrets", "token", "password", "passwords", "passwd", "pass", "pwd",
     "passphrase", "passcode", "credential", "credentials", "auth", "authorization",
     "bearer", "cookie", "cookies", "signature", "sig", "session", "jwt", "hmac", "otp"}
)  # fmt: skip
#: Words naming secrets as often as counts of them (`max_tokens`, `quota_monthly_tokens`):
#: a number is shown, anything else (``access_tokens: [...]``) is not.
_COUNTED_WORDS = frozenset({"tokens"})
#: Sections whose values are never shown, whatever their names: a header's value is as often
#: an API key under a vendor's name as not.
_HIDDEN_SECTIONS = frozenset({"headers"})
#: A setting name's words: camelCase humps, runs of capitals (``APIKey``), digits.
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
#: A value that is one URL (a scheme, then no spaces): shown as its origin only.
_WHOLE_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S*$")
#: The longest value shown as it is: a longer one is named only.
_SHOWN_LENGTH = 40


def setting_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """One line per field of `before` that `after` holds otherwise, e.g. ``llm: model
    'qwen2.5:7b' -> 'llama3.1:8b'; removed quota_monthly_tokens`` (in a section, the keys
    whose value changed, then those removed, then those added; nested ones as
    ``calendar.url``). A value is shown only when short and plain: never one whose name
    says secret (``accessToken``, ``X-Pass``, ``pwd``...) or a header's, a list or an object;
    a URL only as its origin (``'https://llm.shop.com'``: its path and query may carry a key),
    and not at all when it has user information or only its path or query changed. A list
    of bindings (``more_channels``) is compared kind by kind: ``telegram.api_base_url``."""
    lines = []
    for field in (*SETTING_FIELDS, *(f for f in before if f not in SETTING_FIELDS)):
        if field not in before or before[field] == after.get(field):
            continue
        old, new = _by_index(before[field]), _by_index(after.get(field))
        if isinstance(old, Mapping | None) and isinstance(new, Mapping | None):
            changed, removed, added = _section_changes(old or {}, new or {}, "")
            parts = [", ".join(changed)] if changed else []
            parts += [f"removed {', '.join(removed)}"] if removed else []
            parts += [f"added {', '.join(added)}"] if added else []
            if parts:  # else only the order of a list's items changed
                lines.append(f"{field}: {'; '.join(parts)}")
        else:
            lines.append(_value_change(field, old, new))
    return lines


def _by_index(value: Any) -> Any:
    """A list of objects as an object of its items by their kind when each has its own
    (``more_channels``: ``telegram``, so a channel moved in the list is not a change), else by
    ``[index]``; anything else as it is."""
    if isinstance(value, list) and all(isinstance(v, Mapping) for v in value):
        kinds = [v.get("type") for v in value]
        if all(isinstance(k, str) and k for k in kinds) and len(set(kinds)) == len(kinds):
            return {str(v["type"]): v for v in value}
        return {f"[{index}]": item for index, item in enumerate(value)}
    return value


def _section_changes(
    old: Mapping[str, Any], new: Mapping[str, Any], prefix: str
) -> tuple[list[str], list[str], list[str]]:
    """The keys of a section whose value changed (``path 'a' -> 'b'``, or the path alone),
    were removed and were added; objects within both sides compared key by key."""
    changed: list[str] = []
    removed: list[str] = []
    added: list[str] = []
    for key, value in old.items():
        path = f"{prefix}{key}"
        if key not in new:
            removed.append(path)
        elif isinstance(value, Mapping) and isinstance(new[key], Mapping):
            inner = _section_changes(value, new[key], f"{path}.")
            changed, removed, added = changed + inner[0], removed + inner[1], added + inner[2]
        elif new[key] != value:
            changed.append(_value_change(path, value, new[key]))
    added += [f"{prefix}{key}" for key in new if key not in old]
    return changed, removed, added


def _value_change(path: str, old: Any, new: Any) -> str:
    shown_old, shown_new = _shown(path, old), _shown(path, new)
    # Equal when what differs is not shown (a URL's path): named only, not "a -> a".
    if shown_old is None or shown_new is None or shown_old == shown_new:
        return path
    return f"{path} {shown_old} -> {shown_new}"


def _name_words(path: str) -> set[str]:
    """The words of a setting's path, lower case: ``headers.X-AccessToken`` -> headers, x,
    access, token."""
    return {w.lower() for part in path.split(".") for w in _WORD.findall(part)}


def _shown(path: str, value: Any) -> str | None:
    """`value` as a change line shows it, or None when it is to be named only."""
    words = _name_words(path)
    if words & _SECRET_WORDS or any(w.endswith("key") for w in words):
        return None
    counted = isinstance(value, int | float) and not isinstance(value, bool)
    if words & _COUNTED_WORDS and not counted:
        return None
    if set(path.lower().split(".")[:-1]) & _HIDDEN_SECTIONS:
        return None
    if isinstance(value, str):
        if "://" in value or value.lstrip().startswith("//"):
            return _origin(value)
        text = repr(value)
    elif value is None or isinstance(value, bool | int | float):
        text = json.dumps(value)
    else:
        return None
    return text if len(text) <= _SHOWN_LENGTH else None


def _origin(value: str) -> str | None:
    """``'scheme://host[:port]'`` of a URL, shown for it; None for user information, a text
    that is not one URL (a prompt quoting one), or one that does not parse."""
    text = value.strip()
    if not _WHOLE_URL.match(text):
        return None
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    if "@" in parts.netloc or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    shown = repr(f"{parts.scheme}://{host}" + ("" if port is None else f":{port}"))
    return shown if len(shown) <= _SHOWN_LENGTH else None


def _dropped_connectors(current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """The bindings of `current` that `wanted` leaves out (``llm`` aside: flows never call it
    and keeping it could contradict the new ``llm.provider``)."""
    return {
        name: binding
        for name, binding in current.items()
        if name not in wanted and name not in NOT_FLOW_CONNECTORS
    }


def _publish_text(
    text: str,
    *,
    listing: Callable[[], Any],
    publish: Callable[[int], Any],
    upload: Callable[[str], int],
) -> tuple[int, bool, int | None]:
    """The published version holding `text` (an existing one re-published, or a new upload),
    whether it was uploaded, and the version it replaced as the published one (None: none was
    published, or it was this one)."""
    versions = listing()
    before = versions.published_version
    version = _version_holding(text, versions)
    if version is not None:
        if before != version:
            publish(version)
        return version, False, None if before == version else before
    return upload(text), True, before


def _version_holding(text: str, versions: Any) -> int | None:
    """The latest stored version whose text is `text`, else None."""
    digest = _sha256(text)
    return max((v.version for v in versions.versions if v.sha256 == digest), default=None)


def planned_publishes(client: ControlPlaneClient, files: TenantFiles) -> list[str]:
    """What `provision_tenant` would publish in place of what is published (one line each for
    the flow and the knowledge, none when the files' text is the published one), changing
    nothing: a version published since by other means is unpublished by the rule that the
    files hold what is published, which a dry run is there to show."""
    tenant = files.config.tenant_id
    plans: list[tuple[str, str, Callable[[str], Any]]] = [
        ("flow", files.flow_yaml, client.list_flows)
    ]
    if files.knowledge is not None:
        plans.append(("knowledge", files.knowledge, client.list_knowledge))
    lines = []
    for what, text, listing in plans:
        versions = listing(tenant)
        before = versions.published_version
        version = _version_holding(text, versions)
        if version is not None and version == before:
            continue
        now = (
            f"version {version}, which holds the file's text, would be published again"
            if version is not None
            else "the file's text would be uploaded as a new version and published"
        )
        if before is None:
            lines.append(f"{what}: {now}")
        else:
            lines.append(f"{what}: version {before} would no longer be published; {now}")
    return lines
