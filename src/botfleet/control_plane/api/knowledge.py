"""Knowledge routes: upload markdown, list, get, publish, rollback, diff."""

from __future__ import annotations

from fastapi import APIRouter

from botfleet.control_plane.api.responses import AUTH_ERRORS
from botfleet.control_plane.api.versioned_routes import UploadRoute, add_version_routes
from botfleet.control_plane.models import (
    KnowledgeVersionDetail,
    KnowledgeVersionItem,
    KnowledgeVersionList,
    KnowledgeVersionView,
)
from botfleet.control_plane.services import knowledge
from botfleet.control_plane.services.knowledge import KNOWLEDGE

router = APIRouter(
    prefix="/v1/tenants/{tenant_id}/knowledge", tags=["knowledge"], responses=AUTH_ERRORS
)

KNOWLEDGE_TEXT_TYPES = ("text/markdown", "text/plain")

UPLOAD = """Upload markdown or plain text (``text/markdown``, ``text/plain``, UTF-8), or JSON
``{"text": ...}``, as a new version, numbered 1..n (201). The latest version's very text
stores nothing: 200 with that version and ``"unchanged": true`` (published with
``?publish=true``)."""

ROLLBACK = """Publish an earlier version: ``{"version": n}``, or without a body the version that
was published before the published one (versions never published are skipped; 409 when
none was). Audited as ``knowledge.rollback``."""

PUBLISH = """Make this version the one the LLM answers from (picked up on the next boot poll)."""

# No `with_changes`: publishing knowledge changes nothing for conversations under way.
add_version_routes(
    router,
    KNOWLEDGE,
    singular="knowledge",
    plural="knowledge",
    upload=UploadRoute(
        store=knowledge.upload_knowledge,
        max_bytes=lambda settings: settings.max_knowledge_bytes,
        what="knowledge document",
        json_field="text",
        text_types=KNOWLEDGE_TEXT_TYPES,
        description=UPLOAD,
    ),
    view=KnowledgeVersionView,
    detail=KnowledgeVersionDetail,
    item=KnowledgeVersionItem,
    listing=KnowledgeVersionList,
    rollback_description=ROLLBACK,
    publish_description=PUBLISH,
)
