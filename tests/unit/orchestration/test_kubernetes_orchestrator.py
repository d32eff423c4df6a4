"""Kubernetes back end: the rendered objects, and the calls against a fake API server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from kube_fake import FakeKubernetes, fake_kubernetes
from kubernetes import client as k8s

from botfleet.adapters.orchestration import OrchestrationError
from botfleet.adapters.orchestration.k8s_objects import (
    SPEC_HASH_ANNOTATION,
    KubernetesSettings,
    object_name,
    render_tenant_objects,
    selector_labels,
)
from botfleet.adapters.orchestration.kubernetes import MERGE_PATCH, KubernetesOrchestrator
from botfleet.ports.orchestration import DataPlaneSpec

SETTINGS = KubernetesSettings(namespace="bots", image="registry.example/botfleet:1.2.3")
SPEC = DataPlaneSpec(
    "acme",
    control_plane_url="http://control-plane.bots.svc:8001",
    boot_token="bfb_boot-secret-1",
    cache_key="cache-key-secret-2",
    internal_token="internal-secret-3",
    config_poll_s=15,
)
SECRETS = ("bfb_boot-secret-1", "cache-key-secret-2", "internal-secret-3")


def serialized(obj: Any) -> dict[str, Any]:
    data: dict[str, Any] = k8s.ApiClient().sanitize_for_serialization(obj)
    return data


def test_rendered_objects_round_trip_through_the_client_models() -> None:
    objects = render_tenant_objects(SPEC, SETTINGS)
    models = (k8s.V1Secret, k8s.V1PersistentVolumeClaim, k8s.V1Deployment, k8s.V1Service)
    for obj, model in zip(objects.all(), models, strict=True):
        data = serialized(obj)
        assert serialized(model.from_dict(data)) == data
        assert data["metadata"]["namespace"] == "bots"
        assert data["metadata"]["labels"]["botfleet.io/tenant"] == "acme"
    assert [serialized(o)["kind"] for o in objects.all()] == [
        "Secret", "PersistentVolumeClaim", "Deployment", "Service",
    ]  # fmt: skip


def test_secrets_travel_only_in_the_secret() -> None:
    objects = render_tenant_objects(SPEC, SETTINGS)
    secret = serialized(objects.secret)
    assert secret["stringData"] == {
        "DP_BOOT_TOKEN": SECRETS[0],
        "DP_CACHE_KEY": SECRETS[1],
        "DP_INTERNAL_TOKEN": SECRETS[2],
    }
    for obj in (objects.deployment, objects.service, objects.volume_claim):
        text = str(serialized(obj))
        assert not any(value in text for value in SECRETS)
    [container] = serialized(objects.deployment)["spec"]["template"]["spec"]["containers"]
    assert container["envFrom"] == [{"secretRef": {"name": "dp-acme-env"}}]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env == {
        "DP_TENANT_ID": "acme",
        "DP_CONTROL_PLANE_URL": "http://control-plane.bots.svc:8001",
        "DP_DATA_DIR": "/data",
        "DP_CONFIG_POLL_S": "15",
        "DP_LOG_JSON": "true",
    }


def test_a_specs_env_never_shadows_its_secret_or_its_own_fields() -> None:
    """Kubernetes lets `env` win over `envFrom`: an old token left in a spec's `env` would
    outlive a rotation, and a `DP_TENANT_ID` there would run another tenant's id."""
    from dataclasses import replace

    spec = replace(
        SPEC,
        env={"DP_BOOT_TOKEN": "bfb_old", "DP_TENANT_ID": "other", "DP_LOG_JSON": "false"},
    )
    [container] = serialized(render_tenant_objects(spec, SETTINGS).deployment)["spec"]["template"][
        "spec"
    ]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert "DP_BOOT_TOKEN" not in env
    assert (env["DP_TENANT_ID"], env["DP_LOG_JSON"]) == ("acme", "false")


def test_the_deployment_runs_one_non_root_replica_on_its_own_volume() -> None:
    deployment = serialized(render_tenant_objects(SPEC, SETTINGS).deployment)
    spec = deployment["spec"]
    assert (spec["replicas"], spec["strategy"]["type"]) == (1, "Recreate")
    assert spec["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "botfleet-data-plane", "botfleet.io/tenant": "acme",
    }  # fmt: skip
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    # The kubelet leaves the files' modes alone once the volume is the group's (0600 state).
    assert pod["securityContext"]["fsGroupChangePolicy"] == "OnRootMismatch"
    assert pod["automountServiceAccountToken"] is False
    [container] = pod["containers"]
    assert container["image"] == "registry.example/botfleet:1.2.3"
    assert container["args"] == ["serve", "data-plane", "--host", "0.0.0.0", "--port", "8002"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}
    assert {m["mountPath"] for m in container["volumeMounts"]} == {"/data", "/tmp"}
    claims = [v for v in pod["volumes"] if "persistentVolumeClaim" in v]
    assert claims[0]["persistentVolumeClaim"]["claimName"] == "dp-acme-data"
    claim = serialized(render_tenant_objects(SPEC, SETTINGS).volume_claim)
    assert claim["spec"]["resources"]["requests"] == {"storage": "1Gi"}
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]


def test_a_changed_spec_changes_the_pod_template() -> None:
    def stamp(spec: DataPlaneSpec) -> str:
        template = render_tenant_objects(spec, SETTINGS).deployment.spec.template
        return str(template.metadata.annotations[SPEC_HASH_ANNOTATION])

    other = DataPlaneSpec(
        "acme", control_plane_url=SPEC.control_plane_url, boot_token="bfb_new", config_poll_s=15
    )
    assert stamp(SPEC) != stamp(other)
    assert stamp(SPEC) == stamp(SPEC)
    assert "bfb_" not in stamp(other)


def test_names_are_dns_labels_and_tenant_ids_never_collide() -> None:
    assert object_name("acme") == "dp-acme"
    assert object_name("a_b") != object_name("a-b")
    assert object_name("a_b").startswith("dp-a-b-")
    assert len(object_name("x" * 63)) <= 63
    for odd in ("___", "Tenant.One", "UPPER"):
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", object_name(odd))


@pytest.fixture
def cluster() -> Iterator[tuple[FakeKubernetes, KubernetesOrchestrator]]:
    with fake_kubernetes() as fake:
        api = k8s.ApiClient(k8s.Configuration(host=fake.url))
        yield fake, KubernetesOrchestrator(SETTINGS, api)


async def test_start_creates_the_four_objects_then_patches_them(
    cluster: tuple[FakeKubernetes, KubernetesOrchestrator],
) -> None:
    fake, orchestrator = cluster
    status = await orchestrator.start(SPEC)
    assert status.state == "starting"
    assert status.url == "http://dp-acme.bots.svc.cluster.local:8002"
    assert [r.path for r in fake.calls("POST")] == [
        "/api/v1/namespaces/bots/secrets",
        "/api/v1/namespaces/bots/persistentvolumeclaims",
        "/apis/apps/v1/namespaces/bots/deployments",
        "/api/v1/namespaces/bots/services",
    ]
    assert fake.get("secrets", "bots", "dp-acme-env")["stringData"]["DP_BOOT_TOKEN"] == SECRETS[0]
    fake.requests.clear()
    await orchestrator.start(SPEC)  # again: everything exists
    patched = fake.calls("PATCH")
    assert [r.path.rsplit("/", 2)[-2] for r in patched] == ["secrets", "deployments", "services"]
    assert {r.content_type for r in patched} == {MERGE_PATCH}


async def test_status_stop_restart_and_health(
    cluster: tuple[FakeKubernetes, KubernetesOrchestrator],
) -> None:
    fake, orchestrator = cluster
    assert (await orchestrator.status("acme")).state == "unknown"
    assert not (await orchestrator.health("acme")).healthy
    await orchestrator.start(SPEC)
    deployment = fake.get("deployments", "bots", "dp-acme")
    deployment["status"] = {"replicas": 1, "readyReplicas": 1}
    assert (await orchestrator.status("acme")).state == "running"
    fake.health[("bots", "dp-acme")] = {"status": "ok", "tenant_id": "acme"}
    health = await orchestrator.health("acme")
    assert health.healthy and health.body == {"status": "ok", "tenant_id": "acme"}
    assert fake.requests[-1].path == "/api/v1/namespaces/bots/services/dp-acme:http/proxy/health"

    assert (await orchestrator.stop("acme")).state == "stopped"
    assert fake.get("deployments", "bots", "dp-acme")["spec"]["replicas"] == 0
    await orchestrator.restart("acme")
    restarted = fake.get("deployments", "bots", "dp-acme")
    assert restarted["spec"]["replicas"] == 1
    annotations = restarted["spec"]["template"]["metadata"]["annotations"]
    assert "kubectl.kubernetes.io/restartedAt" in annotations
    assert SPEC_HASH_ANNOTATION in annotations  # the merge kept the rest

    deployment = fake.get("deployments", "bots", "dp-acme")
    deployment["status"] = {
        "conditions": [{"type": "Progressing", "status": "False", "message": "deadline exceeded"}]
    }
    failed = await orchestrator.status("acme")
    assert (failed.state, failed.detail) == ("failed", "deadline exceeded")


async def test_delete_keeps_the_data_unless_asked(
    cluster: tuple[FakeKubernetes, KubernetesOrchestrator],
) -> None:
    fake, orchestrator = cluster
    await orchestrator.start(SPEC)
    await orchestrator.delete("acme")
    assert list(fake.objects) == [("persistentvolumeclaims", "bots", "dp-acme-data")]
    await orchestrator.delete("acme", keep_data=False)  # the others are already gone: fine
    assert fake.objects == {}


async def test_errors_of_the_api_name_the_tenant_and_the_call(
    cluster: tuple[FakeKubernetes, KubernetesOrchestrator],
) -> None:
    _, orchestrator = cluster
    with pytest.raises(OrchestrationError, match=r"tenant 'ghost'.*nothing to restart.*HTTP 404"):
        await orchestrator.restart("ghost")


async def test_stopping_a_tenant_never_deployed_is_unknown_as_locally(
    cluster: tuple[FakeKubernetes, KubernetesOrchestrator],
) -> None:
    _, orchestrator = cluster
    stopped = await orchestrator.stop("ghost")
    assert (stopped.state, stopped.detail) == ("unknown", "no deployment: nothing to stop")


def crash_looping_pod(name: str, tenant_id: str = "acme") -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "bots", "labels": selector_labels(tenant_id)},
        "status": {
            "containerStatuses": [
                {
                    "name": "data-plane",
                    "image": "botfleet:1.0",
                    "imageID": "",
                    "ready": False,
                    "restartCount": 5,
                    "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}},
                    "lastState": {"terminated": {"exitCode": 3, "reason": "Error"}},
                }
            ]
        },
    }


async def test_a_crash_looping_data_plane_is_failed_not_starting(
    cluster: tuple[FakeKubernetes, KubernetesOrchestrator],
) -> None:
    # Once a rollout has completed, Progressing stays True while its pod crashes over and over:
    # only the pod says the data plane keeps exiting.
    fake, orchestrator = cluster
    await orchestrator.start(SPEC)
    deployment = fake.get("deployments", "bots", "dp-acme")
    deployment["status"] = {
        "replicas": 1,
        "conditions": [
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}
        ],
    }
    other = crash_looping_pod("dp-other-1", tenant_id="other")
    fake.objects[("pods", "bots", "dp-other-1")] = other
    assert (await orchestrator.status("acme")).state == "starting"  # none of its pods is stuck
    fake.objects[("pods", "bots", "dp-acme-7d9f-x2")] = crash_looping_pod("dp-acme-7d9f-x2")
    failed = await orchestrator.status("acme")
    assert failed.state == "failed"
    assert "dp-acme-7d9f-x2" in failed.detail and "CrashLoopBackOff" in failed.detail
    assert "last exit code 3" in failed.detail
    fake.forbidden.add("pods")  # a service account without `list` on pods: as before, starting
    assert (await orchestrator.status("acme")).state == "starting"
