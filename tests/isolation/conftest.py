"""The isolation tests use the control plane's and the boot tests' harnesses, not copies."""

from __future__ import annotations

import sys
from pathlib import Path

INTEGRATION = Path(__file__).resolve().parents[1] / "integration"
for folder in ("control_plane", "boot"):
    if str(INTEGRATION / folder) not in sys.path:
        sys.path.insert(0, str(INTEGRATION / folder))
