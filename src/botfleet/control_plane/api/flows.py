"""Flow routes: upload (validated, errors with lines), list, get, publish, rollback, diff."""

from __future__ import annotations

from fastapi import APIRouter

from botfleet.control_plane.api.responses import (
    AUTH_ERRORS,
    FLOW_ERRORS,
    FLOW_PUBLISH_REFUSED,
    FLOW_ROLLBACK_REFUSED,
    UPLOAD_PUBLISH_REFUSED,
)
from botfleet.control_plane.api.versioned_routes import UploadRoute, add_version_routes
from botfleet.control_plane.models import (
    FlowVersionDetail,
    FlowVersionItem,
    FlowVersionList,
    FlowVersionView,
)
from botfleet.control_plane.services import flows
from botfleet.control_plane.services.flows import FLOWS

router = APIRouter(prefix="/v1/tenants/{tenant_id}/flows", tags=["flows"], responses=AUTH_ERRORS)

FLOW_TEXT_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/plain")

UPLOAD = """Upload a flow as YAML text (or JSON ``{"yaml": ...}``), in UTF-8. It is validated with
the data plane's loader; a 422 lists every problem with its line. Versions are numbered
1..n (201). With ``?publish=true`` a flow that cannot be published (409) is not stored
either. The latest version's very text stores nothing: 200 with that version and
``"unchanged": true`` (published with ``?publish=true``). A publish lists in ``changes``
what replacing the live version does to conversations under way (never refused for
them)."""

ROLLBACK = """Publish an earlier version: ``{"version": n}``, or without a body the version that
was published before the published one (versions never published are skipped; 409 when
none was). Audited as ``flow.rollback``. ``changes`` lists what replacing the live version
does to conversations under way."""

PUBLISH = """Make this version the one data planes boot with (they pick it up on their next poll).
``changes`` lists what replacing the live version does to conversations under way: the
publish is never refused for them."""

add_version_routes(
    router,
    FLOWS,
    singular="flow",
    plural="flows",
    upload=UploadRoute(
        store=flows.upload_flow,
        max_bytes=lambda settings: settings.max_flow_bytes,
        what="flow",
        json_field="yaml",
        text_types=FLOW_TEXT_TYPES,
        description=UPLOAD,
        responses={**FLOW_ERRORS, **UPLOAD_PUBLISH_REFUSED},
    ),
    view=FlowVersionView,
    detail=FlowVersionDetail,
    item=FlowVersionItem,
    listing=FlowVersionList,
    rollback_description=ROLLBACK,
    publish_description=PUBLISH,
    with_changes=FlowVersionView.with_changes,
    publish_responses=FLOW_PUBLISH_REFUSED,
    rollback_responses=FLOW_ROLLBACK_REFUSED,
)
