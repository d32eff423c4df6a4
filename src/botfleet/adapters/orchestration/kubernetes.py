"""Kubernetes orchestrator: applies a tenant's Secret, claim, Deployment and Service.

Objects come from `k8s_objects.render_tenant_objects`. Applying creates each one, or patches
it (strategic merge) when it exists; an existing PersistentVolumeClaim is left alone (its size
and class cannot change in place, and it holds the tenant's data). Stopping scales the
Deployment to zero and keeps everything else; `delete` removes the objects (the claim only
when asked). The official client is synchronous: calls run on a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from botfleet.adapters.orchestration.errors import OrchestrationError
from botfleet.adapters.orchestration.k8s_objects import (
    KubernetesSettings,
    TenantObjects,
    object_name,
    render_tenant_objects,
    selector_labels,
)
from botfleet.ports.orchestration import DataPlaneHealth, DataPlaneSpec, DataPlaneStatus

T = TypeVar("T")
MERGE_PATCH = "application/strategic-merge-patch+json"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
#: Container waiting reasons that do not clear by themselves: the data plane keeps exiting or
#: cannot be created, so it is `failed`, not `starting`.
STUCK_REASONS = frozenset(
    {
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
    }
)


def _missing(exc: ApiException) -> bool:
    return bool(exc.status == 404)


def _missing_object(exc: OrchestrationError) -> bool:
    """The API call `exc` comes from found no such object (HTTP 404)."""
    return isinstance(exc.__cause__, ApiException) and _missing(exc.__cause__)


class KubernetesOrchestrator:
    """Implements `Orchestrator` on a cluster.

    Args:
        settings: namespace, image, storage and resources of the data planes.
        api_client: a configured ``kubernetes.client.ApiClient`` (see `from_environment`).
    """

    def __init__(self, settings: KubernetesSettings, api_client: k8s.ApiClient) -> None:
        self.settings = settings
        self.core = k8s.CoreV1Api(api_client)
        self.apps = k8s.AppsV1Api(api_client)

    @classmethod
    def from_environment(cls, settings: KubernetesSettings) -> KubernetesOrchestrator:
        """In a pod: its service account; elsewhere: the kubeconfig (``KUBECONFIG``)."""
        from kubernetes import config

        try:
            config.load_incluster_config()  # type: ignore[no-untyped-call]
        except config.ConfigException:
            config.load_kube_config()  # type: ignore[no-untyped-call]
        return cls(settings, k8s.ApiClient())

    def render(self, spec: DataPlaneSpec) -> TenantObjects:
        return render_tenant_objects(spec, self.settings)

    # ---------------------------------------------------------------- Orchestrator

    async def start(self, spec: DataPlaneSpec) -> DataPlaneStatus:
        objects = self.render(spec)
        await self._call(spec.tenant_id, self._apply, objects)
        return await self.status(spec.tenant_id)

    async def stop(self, tenant_id: str) -> DataPlaneStatus:
        """Scale to 0; a tenant never deployed is `unknown` (nothing to stop), as locally."""
        try:
            await self._patch_deployment(tenant_id, {"spec": {"replicas": 0}})
        except OrchestrationError as exc:
            if not _missing_object(exc):
                raise
            return DataPlaneStatus(
                tenant_id, "unknown", None, detail="no deployment: nothing to stop"
            )
        return await self.status(tenant_id)

    async def restart(self, tenant_id: str) -> DataPlaneStatus:
        """A rolling restart, as ``kubectl rollout restart`` does (and at least one replica)."""
        now = datetime.now(UTC).isoformat()
        patch = {
            "spec": {
                "replicas": 1,
                "template": {"metadata": {"annotations": {RESTARTED_AT: now}}},
            }
        }
        try:
            await self._patch_deployment(tenant_id, patch)
        except OrchestrationError as exc:
            if not _missing_object(exc):
                raise
            # As locally: a tenant never deployed has no spec to restart with.
            raise OrchestrationError(
                tenant_id, f"no deployment: nothing to restart ({exc.detail})"
            ) from exc
        return await self.status(tenant_id)

    async def status(self, tenant_id: str) -> DataPlaneStatus:
        name = object_name(tenant_id)
        namespace = self.settings.namespace
        url = f"http://{name}.{namespace}.svc.cluster.local:{self.settings.container_port}"
        try:
            deployment = await self._call(
                tenant_id, self.apps.read_namespaced_deployment, name, namespace
            )
        except OrchestrationError as exc:
            if _missing_object(exc):
                return DataPlaneStatus(tenant_id, "unknown", None, detail="no deployment")
            raise
        wanted = deployment.spec.replicas if deployment.spec else 0
        status = deployment.status or k8s.V1DeploymentStatus()
        ready = status.ready_replicas or 0
        if not wanted:
            return DataPlaneStatus(tenant_id, "stopped", url, detail="scaled to 0")
        if ready >= 1:
            return DataPlaneStatus(tenant_id, "running", url, detail=f"{ready}/{wanted} ready")
        for condition in status.conditions or []:
            if condition.type == "Progressing" and condition.status == "False":
                return DataPlaneStatus(tenant_id, "failed", url, detail=condition.message or "")
        # After a completed rollout, Progressing stays True while the pod crashes again and
        # again: only the pods tell a data plane that keeps exiting from one still starting.
        stuck = await self._stuck_pod(tenant_id)
        if stuck is not None:
            return DataPlaneStatus(tenant_id, "failed", url, detail=stuck)
        return DataPlaneStatus(tenant_id, "starting", url, detail=f"0/{wanted} ready")

    async def health(self, tenant_id: str) -> DataPlaneHealth:
        """``GET /health`` through the API server's service proxy."""
        name = f"{object_name(tenant_id)}:http"
        try:
            # Raw bytes: the client would turn the JSON answer into a Python repr string.
            response: Any = await asyncio.to_thread(
                self.core.connect_get_namespaced_service_proxy_with_path,
                name,
                self.settings.namespace,
                "health",
                _preload_content=False,
            )
            body = json.loads(response.data)
        except ApiException as exc:
            return DataPlaneHealth(tenant_id, False, detail=f"HTTP {exc.status} from the proxy")
        except ValueError:
            return DataPlaneHealth(tenant_id, False, detail="not JSON")
        except Exception as exc:  # urllib3 errors: the API server itself is unreachable
            return DataPlaneHealth(tenant_id, False, detail=type(exc).__name__)
        healthy = isinstance(body, dict) and body.get("status") == "ok"
        return DataPlaneHealth(tenant_id, healthy, body if isinstance(body, dict) else None, "ok")

    async def delete(self, tenant_id: str, *, keep_data: bool = True) -> None:
        """Remove the tenant's objects; its volume claim (its data) only with `keep_data=False`."""
        name, namespace = object_name(tenant_id), self.settings.namespace
        calls: list[tuple[Callable[..., Any], str]] = [
            (self.apps.delete_namespaced_deployment, name),
            (self.core.delete_namespaced_service, name),
            (self.core.delete_namespaced_secret, f"{name}-env"),
        ]
        if not keep_data:
            calls.append((self.core.delete_namespaced_persistent_volume_claim, f"{name}-data"))
        for delete, object_id in calls:
            try:
                await asyncio.to_thread(delete, object_id, namespace)
            except ApiException as exc:
                if not _missing(exc):
                    raise OrchestrationError(tenant_id, _api_error("delete", exc)) from exc

    # ---------------------------------------------------------------- internals

    def _apply(self, objects: TenantObjects) -> None:
        namespace = self.settings.namespace
        kinds: list[tuple[Any, Callable[..., Any], Callable[..., Any] | None]] = [
            (
                objects.secret,
                self.core.create_namespaced_secret,
                self.core.patch_namespaced_secret,
            ),
            (objects.volume_claim, self.core.create_namespaced_persistent_volume_claim, None),
            (
                objects.deployment,
                self.apps.create_namespaced_deployment,
                self.apps.patch_namespaced_deployment,
            ),
            (
                objects.service,
                self.core.create_namespaced_service,
                self.core.patch_namespaced_service,
            ),
        ]
        for body, create, patch in kinds:
            try:
                create(namespace, body)
            except ApiException as exc:
                if exc.status != 409:
                    raise
                if patch is not None:  # it exists: bring it in line
                    patch(body.metadata.name, namespace, body, _content_type=MERGE_PATCH)

    async def _stuck_pod(self, tenant_id: str) -> str | None:
        """Why one of the tenant's pods cannot run (a reason in `STUCK_REASONS`), if one cannot."""
        selector = ",".join(f"{k}={v}" for k, v in selector_labels(tenant_id).items())
        try:
            pods = await self._call(
                tenant_id,
                self.core.list_namespaced_pod,
                self.settings.namespace,
                label_selector=selector,
            )
        except OrchestrationError as exc:
            # A service account granted only what earlier releases needed: say `starting`, as
            # they did, rather than fail every status call of a tenant that is coming up.
            if isinstance(exc.__cause__, ApiException) and exc.__cause__.status == 403:
                return None
            raise
        for pod in pods.items or []:
            for container in (pod.status.container_statuses if pod.status else None) or []:
                waiting = container.state.waiting if container.state else None
                if waiting is None or waiting.reason not in STUCK_REASONS:
                    continue
                name = pod.metadata.name if pod.metadata else "?"
                detail = f"pod {name}: {waiting.reason}"
                ended = container.last_state.terminated if container.last_state else None
                if ended is not None:
                    detail += f" (last exit code {ended.exit_code}"
                    detail += f", {ended.reason})" if ended.reason else ")"
                return f"{detail}: {waiting.message}" if waiting.message else detail
        return None

    async def _patch_deployment(self, tenant_id: str, patch: dict[str, Any]) -> None:
        name = object_name(tenant_id)
        await self._call(
            tenant_id,
            self.apps.patch_namespaced_deployment,
            name,
            self.settings.namespace,
            patch,
            _content_type=MERGE_PATCH,
        )

    async def _call(self, tenant_id: str, function: Callable[..., T], *args: Any, **kw: Any) -> T:
        try:
            return await asyncio.to_thread(function, *args, **kw)
        except ApiException as exc:
            action = getattr(function, "__name__", "call")
            raise OrchestrationError(tenant_id, _api_error(action, exc)) from exc


def _api_error(action: str, exc: ApiException) -> str:
    message = exc.reason or ""
    with contextlib.suppress(ValueError, AttributeError):  # not a JSON Status object
        message = json.loads(exc.body or "{}").get("message") or message
    return f"{action}: HTTP {exc.status} {message}".strip()
