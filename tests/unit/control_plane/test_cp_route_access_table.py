"""The access table (`api/access.py`) has one entry for every route the control plane serves,
and none for a route it does not; each entry that takes an API key is enforced, by the route
authenticating with `get_principal`, and the others never ask for one."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from botfleet.control_plane.api.access import ROUTE_ACCESS, Gate, authorize, route_access
from botfleet.control_plane.api.deps import get_principal
from botfleet.control_plane.app import create_app
from botfleet.control_plane.errors import PermissionDenied
from botfleet.control_plane.principals import ADMIN, Principal, Role
from botfleet.control_plane.settings import ControlPlaneSettings

FERNET_KEY = "oGdyiHTb0dTrMvp7ltlP6nrvKoBtJ3pjxVGW4Cl8C3s="


def _routes(tmp_path: Path) -> dict[tuple[str, str], object]:
    """Every (method, template) the app serves, with its route (HEAD comes with GET)."""
    settings = ControlPlaneSettings(
        environment="test",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'cp.db'}",
        admin_api_key="admin-key-for-tests-0123456789abcdef",
        fernet_keys=FERNET_KEY,
        api_docs=True,
    )
    app = create_app(settings)
    served: dict[tuple[str, str], object] = {}
    for context in iter_route_contexts(app.routes):
        for method in context.methods or ():
            if method != "HEAD":
                served[(method, str(context.path_format))] = context.original_route
    return served


def _calls(dependant: Dependant) -> set[object]:
    """What the route's dependencies call, however deep."""
    found: set[object] = set()
    for dependency in dependant.dependencies:
        found |= {dependency.call, *_calls(dependency)}
    return found


def _authenticates(route: object) -> bool:
    assert isinstance(route, APIRoute)
    return get_principal in _calls(route.dependant)


def test_every_route_has_exactly_one_entry(tmp_path: Path) -> None:
    served = _routes(tmp_path)
    missing = sorted(set(served) - set(ROUTE_ACCESS))
    stale = sorted(set(ROUTE_ACCESS) - set(served))
    assert not missing, f"add these routes to ROUTE_ACCESS in api/access.py: {missing}"
    assert not stale, f"ROUTE_ACCESS names routes the app does not serve: {stale}"
    assert len(served) > 40, "the walk should see the whole API"


def test_each_entry_matches_how_its_route_authenticates(tmp_path: Path) -> None:
    for key, route in _routes(tmp_path).items():
        needs = ROUTE_ACCESS[key].needs
        if needs in (Gate.PUBLIC, Gate.BOOT_TOKEN):
            assert not isinstance(route, APIRoute) or not _authenticates(route), key
        else:
            assert _authenticates(route), f"{key} is {needs} in the table but takes no API key"


def _key(role: Role) -> Principal:
    return Principal(kind="tenant", tenant_id="acme", key_id="0123456789ab", role=role)


@pytest.mark.parametrize(
    ("role", "needs", "allowed"),
    [
        (Role.VIEWER, Role.VIEWER, True),
        (Role.VIEWER, Role.EDITOR, False),
        (Role.VIEWER, Role.OWNER, False),
        (Role.EDITOR, Role.EDITOR, True),
        (Role.EDITOR, Role.OWNER, False),
        (Role.OWNER, Role.OWNER, True),
        (Role.OWNER, Role.VIEWER, True),
    ],
)
def test_roles_include_the_ones_below(role: Role, needs: Role, allowed: bool) -> None:
    assert role.covers(needs) is allowed


def test_a_refusal_names_the_role_needed_and_the_keys_own() -> None:
    with pytest.raises(PermissionDenied) as refused:
        authorize(_key(Role.VIEWER), "POST", "/v1/tenants/{tenant_id}/flows")
    assert str(refused.value) == (
        "uploading a flow needs a tenant API key with the editor role (or owner); this key "
        "(0123456789ab) has the viewer role: ask the tenant's owner or the admin for a key "
        "with that role"
    )
    with pytest.raises(PermissionDenied) as owner_only:
        authorize(_key(Role.EDITOR), "POST", "/v1/tenants/{tenant_id}/boot-token/rotate")
    assert str(owner_only.value).startswith(
        "rotating the boot token needs a tenant API key with the owner role; this key"
    )
    with pytest.raises(PermissionDenied) as admin_only:
        authorize(_key(Role.OWNER), "POST", "/v1/tenants")
    assert str(admin_only.value) == "creating a tenant needs the admin API key"


def test_a_route_missing_from_the_table_refuses_tenant_keys_but_not_the_admin() -> None:
    assert route_access("GET", "/v1/new-route") is None
    for role in Role:
        with pytest.raises(PermissionDenied, match="no role in the control plane's access table"):
            authorize(_key(role), "GET", "/v1/new-route")
        with pytest.raises(PermissionDenied):
            authorize(_key(role), "GET", None)
    authorize(ADMIN, "GET", "/v1/new-route")
