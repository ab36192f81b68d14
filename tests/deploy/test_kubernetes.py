"""k8s/: the base and the production overlay, rendered, validated against the Kubernetes
schemas (kubernetes-validate) and the custom resources' schemas, and checked for
consistency: one image, selectors that match, references that resolve."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.crd_schemas import CUSTOM
from tests.deploy.kustomize import render
from tests.deploy.schemas import schema_errors

kubernetes_validate = pytest.importorskip(
    "kubernetes_validate", reason="kubernetes-validate (dev dependency) ships the schemas"
)

ROOT = Path(__file__).resolve().parents[2]
# The oldest Kubernetes release the manifests support, and the newest with schemas.
VERSIONS = ("1.29.0", kubernetes_validate.utils.latest_version())
ROLES = {"receiver", "api", "grpc", "worker", "beat", "flower", "migrate"}
OVERLAYS = ("base", "overlays/production", "monitoring")
# The application proper; `monitoring` adds Alertmanager beside it in the same namespace.
APP_OVERLAYS = ("base", "overlays/production")


def tree(tmp_path: Path) -> Path:
    """A copy of k8s/ with secrets.env made from its example, as an operator would."""
    copy = tmp_path / "k8s"
    shutil.copytree(ROOT / "k8s", copy)
    production = copy / "overlays" / "production"
    shutil.copy(production / "secrets.env.example", production / "secrets.env")
    return copy


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    root = tree(tmp_path_factory.mktemp("k8s"))
    return {name: render(root / name) for name in OVERLAYS}


def by_kind(resources: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def pod_spec(resource: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = resource["spec"]["template"]["spec"]
    return spec


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("version", VERSIONS)
def test_manifests_match_the_schemas(
    rendered: dict[str, list[dict[str, Any]]], overlay: str, version: str
) -> None:
    problems = []
    for resource in rendered[overlay]:
        where = f"{resource['kind']}/{resource['metadata']['name']}"
        custom = CUSTOM.get((resource["apiVersion"], resource["kind"]))
        if custom is not None:
            problems += [f"{where}: {e}" for e in schema_errors(custom, resource)]
            continue
        try:
            kubernetes_validate.validate(resource, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            problems.append(f"{where}: {path}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            problems.append(f"{where}: {exc.message}")
    assert not problems, "\n".join(problems)


def test_every_role_is_deployed_from_one_image(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    resources = rendered["overlays/production"]
    workloads = [r for r in resources if r["kind"] in {"Deployment", "Job"}]
    images = {c["image"] for r in workloads for c in pod_spec(r)["containers"]}
    assert images == {"ghcr.io/OWNER/REPOSITORY:0.1.0"}
    roles = {pod_spec(r)["containers"][0]["args"][0] for r in workloads}
    assert roles == ROLES
    assert by_kind(resources, "Job")["pipeline-migrate"]["spec"]["template"]["spec"]["containers"][
        0
    ]["args"] == ["migrate"]
    beat = by_kind(resources, "Deployment")["pipeline-beat"]
    assert beat["spec"]["replicas"] == 1 and beat["spec"]["strategy"]["type"] == "Recreate"


def test_pods_are_hardened_and_probed(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for resource in rendered["overlays/production"]:
        if resource["kind"] not in {"Deployment", "Job"}:
            continue
        spec = pod_spec(resource)
        assert spec["securityContext"]["runAsNonRoot"] is True
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["readOnlyRootFilesystem"] is True
            assert context["capabilities"]["drop"] == ["ALL"]
            assert "memory" in container["resources"]["limits"]
            refs = {next(iter(ref.values()))["name"] for ref in container["envFrom"]}
            assert refs == {"pipeline-config", "pipeline-secrets"}
            if resource["kind"] == "Deployment":
                assert "livenessProbe" in container, resource["metadata"]["name"]


def test_references_resolve(rendered: dict[str, list[dict[str, Any]]]) -> None:
    resources = rendered["overlays/production"]
    deployments = by_kind(resources, "Deployment")
    services = by_kind(resources, "Service")
    for service in services.values():
        selector = service["spec"]["selector"]
        assert any(
            selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
            for d in deployments.values()
        ), f"service {service['metadata']['name']} selects no pods"
    for deployment in deployments.values():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    hpa = by_kind(resources, "HorizontalPodAutoscaler")["pipeline-receiver"]
    assert hpa["spec"]["scaleTargetRef"]["name"] in deployments
    scaled = by_kind(resources, "ScaledObject")["pipeline-worker"]
    assert scaled["spec"]["scaleTargetRef"]["name"] == "pipeline-worker"
    queues = {t["metadata"]["listName"] for t in scaled["spec"]["triggers"]}
    assert {"ingest", "telegram"} <= queues
    secret_keys = set(by_kind(resources, "Secret")["pipeline-secrets"]["data"])
    auth = by_kind(resources, "TriggerAuthentication")["pipeline-redis"]
    assert {ref["key"] for ref in auth["spec"]["secretTargetRef"]} <= secret_keys
    assert {"DATABASE_URL", "BROKER_URL"} <= secret_keys
    ingress = by_kind(resources, "Ingress")["pipeline"]
    assert ingress["metadata"]["annotations"]["cert-manager.io/issuer"] in by_kind(
        resources, "Issuer"
    )
    assert ingress["spec"]["tls"][0]["hosts"] == [r["host"] for r in ingress["spec"]["rules"]]
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            assert path["backend"]["service"]["name"] in services
    assert {r["metadata"].get("namespace") for r in resources if r["kind"] != "Namespace"} == {
        "pipeline"
    }


def test_secrets_are_not_committed() -> None:
    production = ROOT / "k8s" / "overlays" / "production"
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(production / "secrets.env")], cwd=ROOT
    )
    assert ignored.returncode == 0, "secrets.env must be ignored by git"
    for line in (production / "secrets.env.example").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            value = line.split("=", 1)[1]
            assert value == "" or "CHANGE_ME" in value or "example" in value, line


def real_kustomize() -> list[str] | None:
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_renderer_agrees_with_kustomize(
    overlay: str, tmp_path: Path, rendered: dict[str, list[dict[str, Any]]]
) -> None:
    command = real_kustomize()
    if command is None:
        pytest.skip("neither kustomize nor kubectl is installed: rendered with tests/deploy")
    root = tree(tmp_path)
    output = subprocess.run(
        [*command, str(root / overlay)], capture_output=True, text=True, check=True
    )
    theirs = [doc for doc in yaml.safe_load_all(output.stdout) if doc]

    def key(resource: dict[str, Any]) -> tuple[str, str]:
        return resource["kind"], resource["metadata"]["name"]

    def decoded(resource: dict[str, Any]) -> dict[str, Any]:
        # kustomize wraps long base64 values; compare what they encode.
        if resource["kind"] == "Secret":
            data = {k: base64.b64decode("".join(v.split())) for k, v in resource["data"].items()}
            resource = {**resource, "data": data}
        return resource

    assert sorted(map(key, theirs)) == sorted(map(key, rendered[overlay]))
    ours = {key(r): decoded(r) for r in rendered[overlay]}
    for resource in theirs:
        assert decoded(resource) == ours[key(resource)], key(resource)


@pytest.mark.parametrize("overlay", APP_OVERLAYS)
def test_only_the_ingress_reaches_the_receiver_from_outside(
    rendered: dict[str, list[dict[str, Any]]], overlay: str
) -> None:
    """Every pod is behind a default deny; the only peers allowed from other namespaces
    are the ingress controller's pods, to the receiver's HTTP port. So Flower, the
    metrics ports and any database here are reachable from this namespace only."""
    policies = by_kind(rendered[overlay], "NetworkPolicy")
    deny = [
        p
        for p in policies.values()
        if p["spec"]["podSelector"] == {} and "ingress" not in p["spec"]
    ]
    assert deny and deny[0]["spec"]["policyTypes"] == ["Ingress"]
    receiver = {"app.kubernetes.io/name": "pipeline", "app.kubernetes.io/component": "receiver"}
    for policy in policies.values():
        for rule in policy["spec"].get("ingress", []):
            for peer in rule.get("from", []):
                assert "ipBlock" not in peer, policy["metadata"]["name"]
                if "namespaceSelector" not in peer:
                    continue  # a bare podSelector: this namespace only
                assert policy["spec"]["podSelector"]["matchLabels"] == receiver
                assert peer["namespaceSelector"]["matchLabels"] == {
                    "kubernetes.io/metadata.name": "ingress-nginx"
                }
                assert peer["podSelector"]["matchLabels"]
                assert rule["ports"] == [{"protocol": "TCP", "port": 8000}]
    peers = [
        peer
        for policy in policies.values()
        for rule in policy["spec"].get("ingress", [])
        for peer in rule.get("from", [])
    ]
    assert any("namespaceSelector" in peer for peer in peers), "the ingress is let in"


def test_trusted_proxies_ship_empty_and_flower_has_a_login(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    for overlay in APP_OVERLAYS:
        config = by_kind(rendered[overlay], "ConfigMap")["pipeline-config"]
        assert config["data"]["TRUSTED_PROXIES"] == ""
    secret = by_kind(rendered["overlays/production"], "Secret")["pipeline-secrets"]
    assert base64.b64decode(secret["data"]["FLOWER_BASIC_AUTH"]).decode().count(":") == 1


def test_alertmanager_routes_to_the_receiver(rendered: dict[str, list[dict[str, Any]]]) -> None:
    monitoring = rendered["monitoring"]
    config = yaml.safe_load(
        by_kind(monitoring, "ConfigMap")["pipeline-alertmanager"]["data"]["alertmanager.yml"]
    )
    (webhook,) = config["receivers"][0]["webhook_configs"]
    receiver = by_kind(rendered["overlays/production"], "Service")["pipeline-receiver"]
    assert webhook["url"] == f"http://{receiver['metadata']['name']}/webhooks/alertmanager"
    deployment = by_kind(monitoring, "Deployment")["pipeline-alertmanager"]
    (token,) = [v for v in pod_spec(deployment)["volumes"] if v["name"] == "token"]
    secret_keys = set(
        by_kind(rendered["overlays/production"], "Secret")["pipeline-secrets"]["data"]
    )
    assert {item["key"] for item in token["secret"]["items"]} <= secret_keys
    service = by_kind(monitoring, "Service")["pipeline-alertmanager"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert {r["metadata"]["namespace"] for r in monitoring} == {"pipeline"}
