"""`DataPlaneSettings` reads its input as pydantic-settings' `BaseSettings` (which it no longer
imports: ~1.3 MB of each data plane's RSS) did with the same fields and config: keyword
arguments over environment variables over `.env`, `DP_<NAME>` before `<NAME>`, any case.

The reference is a `BaseSettings` built from `DataPlaneSettings`' own fields, so both are
compared on any field added later too: fixed cases, then random environments, `.env` files
and arguments (hypothesis).
"""

from __future__ import annotations

import contextlib
import copy
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError, create_model, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from botfleet.data_plane.settings import DataPlaneSettings, tenant_id_problem

FIELDS = dict(DataPlaneSettings.model_fields)


class _ReferenceBase(BaseSettings):
    """The config `DataPlaneSettings` had as a `BaseSettings`, and its checks across fields."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    @model_validator(mode="after")
    def _usable_tenant_id(self) -> Any:
        values = self.model_dump()
        problem = tenant_id_problem(values["tenant_id"], values["control_plane_url"])
        if problem is not None:
            raise ValueError(problem)
        return self


Reference: type[BaseSettings] = create_model(  # type: ignore[call-overload]
    "Reference",
    __base__=_ReferenceBase,
    **{name: (field.annotation, copy.deepcopy(field)) for name, field in FIELDS.items()},
)

#: Every name a field could be read by (unprefixed, prefixed), in the case tests vary.
NAMES = sorted({n for name in FIELDS for n in (name.upper(), f"DP_{name.upper()}")})


@contextlib.contextmanager
def environment(variables: Mapping[str, str], dotenv: str | None, cwd: Path) -> Iterator[None]:
    """Only `variables` among the names settings could read (any case), and `.env` in `cwd`."""
    names = {n.lower() for n in NAMES}
    kept = {k: v for k, v in os.environ.items() if k.lower() not in names}
    env_file = cwd / ".env"
    if dotenv is None:
        env_file.unlink(missing_ok=True)
    else:
        env_file.write_text(dotenv, encoding="utf-8")
    with mock.patch.dict(os.environ, {**kept, **variables}, clear=True), contextlib.chdir(cwd):
        yield


def outcome(cls: type[Any], arguments: Mapping[str, Any]) -> tuple[str, Any]:
    try:
        built = cls(**arguments)
    except ValidationError as exc:
        # A check across fields (`loc` ()) gets the whole input, whose unknown keys one model
        # keeps and the other drops: its message and place say what matters.
        return "error", [
            (e["type"], e["loc"], e["msg"], e.get("input") if e["loc"] else None)
            for e in exc.errors()
        ]
    return "ok", (built.model_dump(), built.model_fields_set)


def assert_same(
    cwd: Path,
    variables: Mapping[str, str] = {},
    dotenv: str | None = None,
    arguments: Mapping[str, Any] = {},
) -> tuple[str, Any]:
    with environment(variables, dotenv, cwd):
        expected = outcome(Reference, arguments)
        got = outcome(DataPlaneSettings, arguments)
    assert got == expected
    return got


def test_defaults(tmp_path: Path) -> None:
    kind, (values, fields_set) = assert_same(tmp_path)
    assert kind == "ok" and fields_set == set()
    assert values["data_dir"] == Path("var/data-plane") and values["port"] == 8002


@pytest.mark.parametrize(
    "variables",
    [
        {"DP_PORT": "9000"},
        {"PORT": "9001"},
        {"DP_PORT": "9000", "PORT": "9001"},
        {"dp_port": "9002", "Port": "9003"},
        {"DP_LOG_JSON": "no", "LOG_LEVEL": "debug", "DP_DATA_DIR": "/srv/x"},
        {"DP_STATE_DB_PATH": "", "TENANT_ID": "", "DP_LOG_JSON": ""},
        {"DP_PORT": "not a port"},
        {"DP_SCHEDULER_GRACE_S": "0", "CONFIG_POLL_S": "x"},
        {"DP_UNKNOWN": "1", "UNRELATED": "2"},
    ],
)
def test_environment_variables(tmp_path: Path, variables: dict[str, str]) -> None:
    assert_same(tmp_path, variables)


@pytest.mark.parametrize(
    ("variables", "dotenv"),
    [
        ({}, "DP_PORT=9000\nLOG_LEVEL='debug'\n"),
        ({"PORT": "1"}, "DP_PORT=2\n"),  # the environment wins, whichever name
        ({"DP_PORT": "1"}, "PORT=2\n"),
        ({}, 'export DP_TENANT_ID="acme"  # comment\nHOST\nDP_BOOT_TOKEN=${HOME}/t\n'),
        ({}, "dp_log_json=false\nSTATE_DB_PATH=\nOTHER=1\n"),
        ({}, "DP_PORT\nPORT=7\n"),  # a name without a value does not count
    ],
)
def test_dotenv_file(tmp_path: Path, variables: dict[str, str], dotenv: str) -> None:
    assert_same(tmp_path, variables, dotenv)


@pytest.mark.parametrize(
    "arguments",
    [
        {"port": 1},
        {"DP_PORT": 2},
        {"PORT": "3", "port": 4},
        {"Port": 5},
        {"dp_port": 6, "DP_PORT": 7},
        {"state_db_path": None, "log_json": False, "tenant_config_path": Path("t.yaml")},
        {"scheduler_grace_s": 0},
        {"unknown": 1, "_env_file": None},
    ],
)
def test_arguments_over_environment(tmp_path: Path, arguments: dict[str, Any]) -> None:
    assert_same(tmp_path, {"DP_PORT": "9000", "LOG_JSON": "true"}, "PORT=8\n", arguments)


def test_model_validate_reads_the_environment_too(tmp_path: Path) -> None:
    """pydantic validates through a model's own `__init__` (both have one)."""
    with environment({"DP_PORT": "9000"}, "DP_HOST=0.0.0.0\n", tmp_path):
        for cls in (Reference, DataPlaneSettings):
            built = cls.model_validate({"log_json": False, "port": "1"})
            assert (built.port, built.host, built.log_json) == (1, "0.0.0.0", False)
            built = cls.model_validate({"log_json": False})
            assert (built.port, built.host, built.log_json) == (9000, "0.0.0.0", False)


def test_test_settings_read_only_the_arguments(tmp_path: Path) -> None:
    from botfleet.testing.runtime import make_settings

    with environment({"DP_PORT": "9000"}, "DP_HOST=0.0.0.0\n", tmp_path):
        built = make_settings(port=1)
    assert (built.port, built.host, built.log_json) == (1, "127.0.0.1", False)


def _case(name: str) -> st.SearchStrategy[str]:
    return st.sampled_from([name, name.lower(), name.capitalize()])


VALUES = st.sampled_from(
    ["", "0", "1", "9000", "-5", "2.5", "true", "off", "abc", "/srv/data", " 7 ", "None"]
)
NAME = st.sampled_from(NAMES).flatmap(_case)
LINE = st.one_of(
    st.tuples(NAME, VALUES).map(lambda kv: f"{kv[0]}={kv[1]}"),
    st.tuples(NAME, VALUES).map(lambda kv: f'export {kv[0]}="{kv[1]}"'),
    NAME,  # no value
    st.just("# comment"),
    st.just("EXTRA_THING=1"),
)
ARGUMENT_NAME = st.one_of(NAME, st.sampled_from(list(FIELDS)), st.just("unknown"))
ARGUMENT_VALUE = st.one_of(VALUES, st.integers(-3, 10_000), st.none(), st.booleans())


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    variables=st.dictionaries(NAME, VALUES, max_size=6),
    lines=st.none() | st.lists(LINE, max_size=6),
    arguments=st.dictionaries(ARGUMENT_NAME, ARGUMENT_VALUE, max_size=4),
)
def test_random_inputs_read_alike(
    tmp_path: Path,
    variables: dict[str, str],
    lines: list[str] | None,
    arguments: dict[str, Any],
) -> None:
    dotenv = None if lines is None else "\n".join(lines) + "\n"
    assert_same(tmp_path, variables, dotenv, arguments)


@pytest.mark.parametrize("name", ["DP_CONFIG_POLL_S", "DP_CONNECTOR_TIMEOUT_S"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_a_number_that_is_not_finite_is_refused(name: str, value: str) -> None:
    # "nan" was taken: every comparison with it is false, so the config polling stopped for
    # good, silently (and "inf" waited forever).
    with mock.patch.dict(os.environ, {name: value}), pytest.raises(ValidationError) as raised:
        DataPlaneSettings()
    assert "finite" in str(raised.value)
