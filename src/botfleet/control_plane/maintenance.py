"""Operations run outside the HTTP API (CLI, cron): migrations and encryption-key rotation."""

from __future__ import annotations

from botfleet.control_plane.crypto import SecretBox
from botfleet.control_plane.db.engine import make_engine, make_session_factory
from botfleet.control_plane.db.migrate import downgrade_migrations, run_migrations
from botfleet.control_plane.db.uow import SqlAlchemyUnitOfWork
from botfleet.control_plane.models import RotationResult
from botfleet.control_plane.principals import ADMIN
from botfleet.control_plane.services.credentials import rotate_encryption
from botfleet.control_plane.settings import ControlPlaneSettings


async def upgrade_database(settings: ControlPlaneSettings, revision: str = "head") -> None:
    """Apply the control plane's migrations up to `revision`."""
    await run_migrations(settings.database_url, schema=settings.database_schema, revision=revision)


async def downgrade_database(settings: ControlPlaneSettings, revision: str) -> None:
    """Revert the control plane's migrations down to `revision` (``base`` drops every table)."""
    await downgrade_migrations(
        settings.database_url, schema=settings.database_schema, revision=revision
    )


async def rotate_encryption_keys(settings: ControlPlaneSettings) -> RotationResult:
    """Re-encrypt every stored credential with the first key of ``CP_FERNET_KEYS``.

    Same as ``POST /v1/admin/rotate-keys``: how many rows were re-encrypted, and the rows
    (``tenant/scope``) no configured key can decrypt, skipped.
    """
    engine = make_engine(settings.database_url, schema=settings.database_schema)
    try:
        async with SqlAlchemyUnitOfWork(make_session_factory(engine)) as uow:
            return await rotate_encryption(uow, ADMIN, SecretBox(settings.fernet_key_list))
    finally:
        await engine.dispose()
