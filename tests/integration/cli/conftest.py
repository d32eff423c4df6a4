"""A real control plane on a free port (uvicorn on a thread, SQLite) for the CLI tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from cp_server import control_plane_on_a_port

ADMIN_KEY = "cli-test-admin-key-0123456789abcdef"


@dataclass(frozen=True)
class RunningControlPlane:
    url: str
    admin_key: str = ADMIN_KEY


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningControlPlane]:
    with control_plane_on_a_port(tmp_path_factory.mktemp("cp"), ADMIN_KEY) as url:
        yield RunningControlPlane(url)
