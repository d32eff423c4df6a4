"""Dockerfile and docker-compose.yml (docker cannot run here): parsed and checked against the
code they start: commands the CLI accepts, settings the planes accept, ports that line up."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from botfleet.cli.main import app
from botfleet.control_plane.settings import ControlPlaneSettings
from botfleet.data_plane.settings import DataPlaneSettings
from botfleet.domain.tenant_config import load_tenant_config

REPO = Path(__file__).resolve().parents[3]
_DEFAULTED = re.compile(r"\$\{(?P<name>[A-Z_]+)(?::-(?P<default>[^}]*))?\}")


def expand(value: str) -> str:
    """Compose's ``${NAME:-default}`` with an empty environment (what `make up` uses)."""
    return _DEFAULTED.sub(lambda m: m["default"] or "", value).replace("$$", "$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return loaded


def service_env(compose: dict[str, Any], name: str) -> dict[str, str]:
    return {k: expand(str(v)) for k, v in compose["services"][name]["environment"].items()}


def parse_cli(args: list[str]) -> Any:
    """Parse `args` as `botfleet` would (unknown commands or options raise), without running."""
    command: Any = typer.main.get_command(app)
    context: Any = None
    name, rest = "botfleet", list(args)
    while hasattr(command, "get_command"):  # a group: descend into the named command
        context = command.make_context(name, [], parent=context, resilient_parsing=True)
        name, rest = rest[0], rest[1:]
        command = command.get_command(context, name)
        assert command is not None, f"unknown command {name!r} in {args}"
    return command.make_context(name, rest, parent=context)


def test_the_stack_has_its_services_on_the_spec_ports(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "control-plane", "demo-setup", "data-plane"}
    published = {
        name: [expand(p) for p in services[name]["ports"]]
        for name in services
        if "ports" in services[name]
    }
    assert published == {
        "postgres": ["5433:5432"], "control-plane": ["8001:8001"], "data-plane": ["8002:8002"]
    }  # fmt: skip
    assert services["postgres"]["image"].startswith("postgres:16")
    for name in ("control-plane", "demo-setup", "data-plane"):
        assert services[name]["build"]["dockerfile"] == "Dockerfile"
        assert services[name]["image"] == "botfleet:local"
    assert set(compose["volumes"]) == {"postgres-data", "demo-data", "shared"}
    assert "demo-data:/data" in services["data-plane"]["volumes"]


def test_start_order_waits_for_health_and_setup(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["control-plane"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["demo-setup"]["depends_on"] == {
        "control-plane": {"condition": "service_healthy"}
    }
    assert services["data-plane"]["depends_on"] == {
        "demo-setup": {"condition": "service_completed_successfully"}
    }
    assert "8001/health" in " ".join(services["control-plane"]["healthcheck"]["test"])


def test_the_control_plane_env_is_valid_as_compose_runs_it(compose: dict[str, Any]) -> None:
    """In development, as Compose runs it (production refuses its public defaults: tested
    with the settings)."""
    env = service_env(compose, "control-plane")
    settings = ControlPlaneSettings(
        environment="development",
        database_url=env["CP_DATABASE_URL"],
        admin_api_key=env["CP_ADMIN_API_KEY"],
        fernet_keys=env["CP_FERNET_KEYS"],
    )
    assert settings.database_url.startswith("postgresql+asyncpg://botfleet:")
    assert settings.database_url.endswith("@postgres:5432/botfleet")
    postgres = compose["services"]["postgres"]["environment"]
    assert expand(postgres["POSTGRES_PASSWORD"]) in env["CP_DATABASE_URL"]
    assert settings.generated_secrets == ()
    command = compose["services"]["control-plane"]["command"]
    context = parse_cli(command)
    assert (context.params["host"], context.params["port"]) == ("0.0.0.0", 8001)


def test_demo_setup_registers_the_tenant_the_data_plane_runs(compose: dict[str, Any]) -> None:
    setup = compose["services"]["demo-setup"]
    context = parse_cli(setup["command"])
    assert context.params["provision_only"] is True
    assert context.params["cp_url"] == "http://control-plane:8001"
    token_file = str(context.params["token_file"])
    setup_env = service_env(compose, "demo-setup")
    assert (
        setup_env["BOTFLEET_API_KEY"] == service_env(compose, "control-plane")["CP_ADMIN_API_KEY"]
    )
    tenant = load_tenant_config(REPO / context.params["tenant_config"])

    data_plane = compose["services"]["data-plane"]
    env = service_env(compose, "data-plane")
    [script] = data_plane["command"]
    assert data_plane["entrypoint"] == ["sh", "-c"]
    assert f"$(cat {token_file})" in expand(script)
    served = shlex.split(expand(script).split("exec ", 1)[1])
    assert served[0] == "botfleet"
    assert parse_cli(served[1:]).params["port"] == 8002
    settings = DataPlaneSettings.model_validate({**env, "BOOT_TOKEN": "bfb_from_file"})
    assert settings.control_plane_url == "http://control-plane:8001"
    # the fleet view reaches /usage and /tasks with the token the data plane serves them with
    assert settings.internal_token
    assert setup_env["DP_INTERNAL_TOKEN"] == settings.internal_token
    assert settings.tenant_id == tenant.tenant_id == "demo"
    assert str(settings.data_dir) == "/data"
    from botfleet.data_plane.config_source.cache import cache_fernet

    assert cache_fernet(settings.cache_key) is not None
    assert any(v.endswith("/shared:ro") for v in data_plane["volumes"])


def dockerfile() -> list[str]:
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_the_dockerfile_is_multi_stage_uv_built_and_runs_unprivileged() -> None:
    lines = dockerfile()
    stages = [line for line in lines if line.startswith("FROM ")]
    assert len(stages) == 2
    assert "AS build" in stages[0] and "astral-sh/uv" in stages[0]
    assert any("uv sync --frozen --no-dev --no-install-project" in line for line in lines)
    assert any("uv sync --frozen --no-dev --no-editable" in line for line in lines)
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users == ["${UID}"]
    assert "ARG UID=10001" in lines
    assert "EXPOSE 8001 8002" in lines
    entrypoint = json.loads(next(x for x in lines if x.startswith("ENTRYPOINT ")).split(" ", 1)[1])
    cmd = json.loads(next(x for x in lines if x.startswith("CMD ")).split(" ", 1)[1])
    assert entrypoint == ["botfleet"]
    assert parse_cli(cmd).params["host"] == "0.0.0.0"
    for line in lines:
        if line.startswith("COPY ") and "--from=" not in line:
            sources = [p for p in line.split()[1:-1] if not p.startswith("--")]
            for source in sources:
                assert (REPO / source).exists(), f"COPY source {source} is missing"


def test_the_build_context_leaves_out_local_state_and_secrets() -> None:
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {"var", ".env", ".venv", ".git"} <= set(ignored)


def test_the_command_check_catches_what_the_cli_would_refuse() -> None:
    with pytest.raises(Exception, match="No such option"):
        parse_cli(["demo", "--no-such-option"])
    with pytest.raises(AssertionError, match="unknown command"):
        parse_cli(["serve", "nothing"])
