"""Control plane: the shared service managing tenants, flows, credentials and boot configs.

Entry point: `botfleet.control_plane.app.create_app(ControlPlaneSettings())`.
"""

from __future__ import annotations
