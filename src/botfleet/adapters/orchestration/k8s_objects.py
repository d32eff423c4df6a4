"""Per-tenant Kubernetes objects of a data plane, built with the official client's models.

    Secret                 dp-<tenant>-env    DP_BOOT_TOKEN, DP_CACHE_KEY, DP_INTERNAL_TOKEN
    PersistentVolumeClaim  dp-<tenant>-data   /data: state.db, jobs, log-hash.key, boot-cache.json
    Deployment             dp-<tenant>        1 replica, Recreate (SQLite has one writer)
    Service                dp-<tenant>        port "http" -> the container's 8002

Secrets reach the pod only through the Secret (``envFrom``), never as plain env values. The pod
runs as a non-root user with a read-only root file system; /data and /tmp are its only
writable paths. A hash of the spec is stamped on the pod template, so a changed spec rolls it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from kubernetes import client as k8s

from botfleet.adapters.orchestration.errors import OrchestrationError
from botfleet.ports.orchestration import DataPlaneSpec

APP_LABEL = "botfleet-data-plane"
TENANT_LABEL = "botfleet.io/tenant"
SPEC_HASH_ANNOTATION = "botfleet.io/spec-hash"
DATA_MOUNT = "/data"
RUN_AS = 10001
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True, slots=True)
class KubernetesSettings:
    """Where and how tenants' data planes run in the cluster."""

    namespace: str = "botfleet"
    image: str = "botfleet:latest"
    image_pull_policy: str = "IfNotPresent"
    container_port: int = 8002
    storage_size: str = "1Gi"
    storage_class: str | None = None
    cpu_request: str = "50m"
    memory_request: str = "128Mi"
    memory_limit: str = "512Mi"
    service_type: str = "ClusterIP"
    #: Seconds a data plane may take to answer /health at start (waiting for its boot config).
    startup_grace_s: int = 300
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TenantObjects:
    secret: k8s.V1Secret
    volume_claim: k8s.V1PersistentVolumeClaim
    deployment: k8s.V1Deployment
    service: k8s.V1Service

    def all(self) -> tuple[Any, ...]:
        """In the order they are applied (the Deployment needs the Secret and the claim)."""
        return (self.secret, self.volume_claim, self.deployment, self.service)


def object_name(tenant_id: str) -> str:
    """``dp-<tenant>`` as a DNS label; ids that need changing get a hash so they stay unique."""
    slug = re.sub(r"[^a-z0-9-]+", "-", tenant_id.lower()).strip("-")
    name = f"dp-{slug}"
    if slug != tenant_id or len(name) > 50:
        digest = hashlib.sha256(tenant_id.encode()).hexdigest()[:8]
        name = f"dp-{slug[:40].strip('-')}-{digest}"
    if not _DNS_LABEL.match(name):
        raise OrchestrationError(tenant_id, f"cannot make a Kubernetes name from it ({name!r})")
    return name


def selector_labels(tenant_id: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": APP_LABEL, TENANT_LABEL: tenant_id}


def spec_hash(spec: DataPlaneSpec) -> str:
    """Changes whenever anything in the spec changes (secrets included, but never shown)."""
    text = json.dumps({**asdict(spec), "env": dict(spec.env)}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def render_tenant_objects(spec: DataPlaneSpec, settings: KubernetesSettings) -> TenantObjects:
    """The four objects of one tenant's data plane (validated by the client's models)."""
    name = object_name(spec.tenant_id)
    labels = {**settings.labels, **selector_labels(spec.tenant_id)}
    return TenantObjects(
        secret=_secret(spec, name, labels, settings),
        volume_claim=_volume_claim(name, labels, settings),
        deployment=_deployment(spec, name, labels, settings),
        service=_service(name, labels, selector_labels(spec.tenant_id), settings),
    )


def _meta(name: str, labels: dict[str, str], settings: KubernetesSettings) -> k8s.V1ObjectMeta:
    return k8s.V1ObjectMeta(name=name, namespace=settings.namespace, labels=dict(labels))


#: The variables the tenant's Secret holds (`envFrom`), which its plain `env` must not name:
#: Kubernetes lets `env` win, so an old token left in a spec's `env` would outlive a rotation.
SECRET_ENV = ("DP_BOOT_TOKEN", "DP_CACHE_KEY", "DP_INTERNAL_TOKEN")


def _secret(
    spec: DataPlaneSpec, name: str, labels: dict[str, str], settings: KubernetesSettings
) -> k8s.V1Secret:
    values = dict(
        zip(SECRET_ENV, (spec.boot_token, spec.cache_key, spec.internal_token), strict=True)
    )
    return k8s.V1Secret(
        api_version="v1",
        kind="Secret",
        type="Opaque",
        metadata=_meta(f"{name}-env", labels, settings),
        string_data={key: value for key, value in values.items() if value},
    )


def _volume_claim(
    name: str, labels: dict[str, str], settings: KubernetesSettings
) -> k8s.V1PersistentVolumeClaim:
    return k8s.V1PersistentVolumeClaim(
        api_version="v1",
        kind="PersistentVolumeClaim",
        metadata=_meta(f"{name}-data", labels, settings),
        spec=k8s.V1PersistentVolumeClaimSpec(
            access_modes=["ReadWriteOnce"],
            storage_class_name=settings.storage_class,
            resources=k8s.V1VolumeResourceRequirements(requests={"storage": settings.storage_size}),
        ),
    )


def _plain_env(spec: DataPlaneSpec, settings: KubernetesSettings) -> list[k8s.V1EnvVar]:
    extra = {k: v for k, v in spec.env.items() if k not in SECRET_ENV}
    values: dict[str, str | None] = {
        "DP_LOG_JSON": "true",
        **extra,  # extra settings, which may change the default above, not the spec's fields
        "DP_TENANT_ID": spec.tenant_id,
        "DP_CONTROL_PLANE_URL": spec.control_plane_url,
        "DP_TENANT_CONFIG_PATH": spec.tenant_config_path,
        "DP_DATA_DIR": DATA_MOUNT,
        "DP_CONFIG_POLL_S": None if spec.config_poll_s is None else str(spec.config_poll_s),
    }
    return [k8s.V1EnvVar(name=k, value=v) for k, v in values.items() if v is not None]


def _probe(settings: KubernetesSettings, *, period_s: int, failures: int) -> k8s.V1Probe:
    return k8s.V1Probe(
        http_get=k8s.V1HTTPGetAction(path="/health", port="http"),
        period_seconds=period_s,
        timeout_seconds=3,
        failure_threshold=failures,
    )


def _container(spec: DataPlaneSpec, name: str, settings: KubernetesSettings) -> k8s.V1Container:
    port = settings.container_port
    return k8s.V1Container(
        name="data-plane",
        image=settings.image,
        image_pull_policy=settings.image_pull_policy,
        args=["serve", "data-plane", "--host", "0.0.0.0", "--port", str(port)],
        ports=[k8s.V1ContainerPort(name="http", container_port=port, protocol="TCP")],
        env=_plain_env(spec, settings),
        env_from=[k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name=f"{name}-env"))],
        volume_mounts=[
            k8s.V1VolumeMount(name="data", mount_path=DATA_MOUNT),
            k8s.V1VolumeMount(name="tmp", mount_path="/tmp"),
        ],
        startup_probe=_probe(settings, period_s=5, failures=max(settings.startup_grace_s // 5, 1)),
        readiness_probe=_probe(settings, period_s=10, failures=3),
        liveness_probe=_probe(settings, period_s=20, failures=3),
        resources=k8s.V1ResourceRequirements(
            requests={"cpu": settings.cpu_request, "memory": settings.memory_request},
            limits={"memory": settings.memory_limit},
        ),
        security_context=k8s.V1SecurityContext(
            allow_privilege_escalation=False,
            read_only_root_filesystem=True,
            run_as_non_root=True,
            capabilities=k8s.V1Capabilities(drop=["ALL"]),
        ),
    )


def _deployment(
    spec: DataPlaneSpec, name: str, labels: dict[str, str], settings: KubernetesSettings
) -> k8s.V1Deployment:
    selector = selector_labels(spec.tenant_id)
    pod = k8s.V1PodSpec(
        containers=[_container(spec, name, settings)],
        automount_service_account_token=False,
        security_context=k8s.V1PodSecurityContext(
            run_as_non_root=True,
            run_as_user=RUN_AS,
            run_as_group=RUN_AS,
            fs_group=RUN_AS,
            # Only when the volume's root is not the group's yet: changing the group of every
            # file at each mount would also give the group read-write on state.db, which the
            # data plane then takes back, with a warning, at every start.
            fs_group_change_policy="OnRootMismatch",
            seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"),
        ),
        volumes=[
            k8s.V1Volume(
                name="data",
                persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(
                    claim_name=f"{name}-data"
                ),
            ),
            k8s.V1Volume(name="tmp", empty_dir=k8s.V1EmptyDirVolumeSource()),
        ],
    )
    return k8s.V1Deployment(
        api_version="apps/v1",
        kind="Deployment",
        metadata=_meta(name, labels, settings),
        spec=k8s.V1DeploymentSpec(
            replicas=1,
            strategy=k8s.V1DeploymentStrategy(type="Recreate"),
            selector=k8s.V1LabelSelector(match_labels=selector),
            template=k8s.V1PodTemplateSpec(
                metadata=k8s.V1ObjectMeta(
                    labels=dict(labels), annotations={SPEC_HASH_ANNOTATION: spec_hash(spec)}
                ),
                spec=pod,
            ),
        ),
    )


def _service(
    name: str, labels: dict[str, str], selector: dict[str, str], settings: KubernetesSettings
) -> k8s.V1Service:
    return k8s.V1Service(
        api_version="v1",
        kind="Service",
        metadata=_meta(name, labels, settings),
        spec=k8s.V1ServiceSpec(
            type=settings.service_type,
            selector=selector,
            ports=[
                k8s.V1ServicePort(name="http", port=settings.container_port, target_port="http")
            ],
        ),
    )
