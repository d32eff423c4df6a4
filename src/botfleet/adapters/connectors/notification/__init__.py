"""Notification category: tell the business what happened (`connectors.notification`).

`webhook` POSTs each notification to a URL the business controls; its settings model is
imported by the catalog, the adapter (and its HTTP client) only when a tenant binds one.
"""

from __future__ import annotations

from botfleet.adapters.connectors.notification.settings import WebhookSettings

__all__ = ["WebhookSettings"]
