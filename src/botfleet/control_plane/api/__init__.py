"""HTTP API of the control plane: routers, dependencies and error handlers."""

from __future__ import annotations
