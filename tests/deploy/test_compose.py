"""docker/compose*.yaml: the Compose schema and the structure the deployment relies on."""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.schemas import schema_errors, vendored_schema

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
FILES = ("compose.yaml", "compose.prod.yaml", "compose.worker.yaml")
APP_ROLES = {"migrate", "receiver", "api", "grpc", "worker", "beat", "flower"}
EXPECTED = APP_ROLES | {"postgres", "redis", "nginx", "prometheus", "grafana", "alertmanager"}
PRIVATE_PORT = re.compile(r"^\$\{PRIVATE_BIND_ADDRESS:-127\.0\.0\.1\}:\d+:\d+$")


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DOCKER / name).read_text())
    return data


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    return load("compose.yaml")


@pytest.mark.parametrize("name", FILES)
def test_matches_the_compose_specification(name: str) -> None:
    errors = schema_errors(vendored_schema("compose-spec"), load(name))
    assert not errors, "\n".join(errors)


def test_services_and_roles(base: dict[str, Any]) -> None:
    services = base["services"]
    assert set(services) == EXPECTED
    images = {services[role]["image"] for role in APP_ROLES}
    builds = {str(services[role]["build"]) for role in APP_ROLES}
    assert len(images) == 1 and len(builds) == 1, "every role runs the same image"
    for role in APP_ROLES:
        assert services[role]["command"][0] == role
        assert services[role]["env_file"][0]["path"] == "../.env"
        assert services[role]["read_only"] is True
        assert "ALL" in services[role]["cap_drop"]
    assert services["migrate"]["restart"] == "no"


def test_healthchecks_and_start_order(base: dict[str, Any]) -> None:
    services = base["services"]
    for name, service in services.items():
        if name != "migrate":
            assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        for dependency, rule in service.get("depends_on", {}).items():
            condition = rule["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} cannot be healthy"
            else:
                assert condition == "service_completed_successfully", (name, dependency)
    wanted = {
        "migrate": {"postgres": "service_healthy"},
        "receiver": {"migrate": "service_completed_successfully", "redis": "service_healthy"},
        "api": {"migrate": "service_completed_successfully", "redis": "service_healthy"},
        "grpc": {"migrate": "service_completed_successfully", "redis": "service_healthy"},
        "worker": {"migrate": "service_completed_successfully", "redis": "service_healthy"},
        "beat": {"migrate": "service_completed_successfully", "redis": "service_healthy"},
        "flower": {"redis": "service_healthy"},
        "nginx": {"receiver": "service_healthy", "api": "service_healthy"},
        "grafana": {"prometheus": "service_healthy"},
    }
    for name, dependencies in wanted.items():
        got = {dep: rule["condition"] for dep, rule in services[name]["depends_on"].items()}
        assert got == dependencies, name


def test_redis_is_a_durable_broker(base: dict[str, Any]) -> None:
    redis = base["services"]["redis"]
    command = " ".join(str(part) for part in redis["command"])
    assert "--appendonly yes" in command
    assert "--maxmemory-policy noeviction" in command
    assert "--requirepass" in command
    assert "redis-data:/data" in redis["volumes"]


def test_volumes_for_data_and_backups(base: dict[str, Any]) -> None:
    services, volumes = base["services"], base["volumes"]
    mounts = {
        "postgres": "postgres-data:/var/lib/postgresql/data",
        "beat": "beat-data:/data",
        "worker": "backups:/backups",
        "prometheus": "prometheus-data:/prometheus",
        "grafana": "grafana-data:/var/lib/grafana",
    }
    for service, mount in mounts.items():
        assert mount in services[service]["volumes"], service
        assert mount.split(":")[0] in volumes
    for service in services.values():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith("."):
                assert (DOCKER / source).exists(), f"{source} is missing"
            else:
                assert source in volumes, f"volume {source} is not declared"


def test_only_nginx_is_public(base: dict[str, Any]) -> None:
    for name, service in base["services"].items():
        for port in service.get("ports", []):
            if name == "nginx":
                assert port.endswith(":80")
            else:
                assert PRIVATE_PORT.match(port), f"{name} publishes {port} publicly"


def test_only_nginx_may_name_the_client(base: dict[str, Any]) -> None:
    """The receiver believes X-Forwarded-For from nginx's fixed address alone, never
    from every peer (uvicorn's FORWARDED_ALLOW_IPS="*")."""
    receiver = base["services"]["receiver"]["environment"]
    assert "FORWARDED_ALLOW_IPS" not in receiver
    nginx = base["services"]["nginx"]["networks"]["default"]["ipv4_address"]
    assert receiver["TRUSTED_PROXIES"] == nginx
    [subnet] = base["networks"]["default"]["ipam"]["config"]
    assert ipaddress.ip_address(nginx) in ipaddress.ip_network(subnet["subnet"])


def test_no_literal_secrets() -> None:
    secret_key = re.compile(r"(PASSWORD|SECRET|TOKEN|AUTH)")
    url_password = re.compile(r"://[^@/]*:[^@/]+@")
    interpolation = re.compile(r"\$\{[^}]*\}")
    for name in FILES:
        for service_name, service in load(name)["services"].items():
            environment = service.get("environment") or {}
            for key, value in environment.items():
                where = f"{name} {service_name} {key}"
                if secret_key.search(key):
                    assert str(value).startswith("${"), f"{where}: a literal secret"
                literal = interpolation.sub("", str(value))
                assert not url_password.search(literal), f"{where}: a literal password"


def test_every_variable_is_documented_in_env_example() -> None:
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", example, re.M))
    used = set()
    for name in FILES:
        used |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (DOCKER / name).read_text()))
    assert used <= documented, f"not in .env.example: {sorted(used - documented)}"


def test_production_adds_tls_and_renewal(base: dict[str, Any]) -> None:
    prod = load("compose.prod.yaml")
    nginx = prod["services"]["nginx"]
    assert any(port.endswith(":443") for port in nginx["ports"])
    targets = {mount.split(":")[1]: mount.split(":")[0] for mount in nginx["volumes"]}
    assert targets["/etc/nginx/templates/default.conf.template"].endswith(
        "templates-tls/default.conf.template"
    )
    assert "letsencrypt" in targets.values()
    assert nginx["environment"]["DOMAIN"].startswith("${DOMAIN:?")
    certbot = prod["services"]["certbot"]
    assert "certbot renew --webroot -w /var/www/certbot" in " ".join(certbot["entrypoint"])
    assert {"letsencrypt:/etc/letsencrypt", "certbot-webroot:/var/www/certbot"} <= set(
        certbot["volumes"]
    )
    assert "certbot-webroot:/var/www/certbot:ro" in base["services"]["nginx"]["volumes"]
    assert set(prod["services"]) - {"certbot"} <= set(base["services"])


def test_worker_node_reaches_the_main_server() -> None:
    worker = load("compose.worker.yaml")["services"]["worker"]
    environment = worker["environment"]
    for key in ("DATABASE_URL", "BROKER_URL", "REDIS_URL"):
        assert "PIPELINE_MAIN_HOST" in environment[key]
    assert worker["command"][0] == "worker"
    assert "maintenance" not in worker["command"][-1]


def test_nginx_template_variables_come_from_compose(base: dict[str, Any]) -> None:
    environment = base["services"]["nginx"]["environment"]
    pattern = re.compile(environment["NGINX_ENVSUBST_FILTER"].replace("$$", "$"))
    used: set[str] = set()
    for template in (DOCKER / "nginx").rglob("*.template"):
        used |= set(re.findall(r"\$\{(\w+)\}", template.read_text()))
    assert used, "the templates use ${VARIABLES}"
    for name in used:
        assert name.isupper(), f"${{{name}}}: nginx's own variables are written $name"
        assert name in environment, f"${{{name}}} is not set for the nginx service"
        assert pattern.match(name), f"NGINX_ENVSUBST_FILTER leaves out {name}"


def test_monitoring_configuration(base: dict[str, Any]) -> None:
    prometheus = load("prometheus/prometheus.yml")
    mounted = {m.split(":")[1]: m.split(":")[0] for m in base["services"]["prometheus"]["volumes"]}
    rules_dir = DOCKER / mounted["/etc/prometheus"].removeprefix("./") / "rules"
    assert prometheus["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    for rules_file in rules_dir.glob("*.yml"):
        for group in load(str(rules_file.relative_to(DOCKER)))["groups"]:
            for rule in group["rules"]:
                assert {"alert", "expr", "labels", "annotations"} <= set(rule)
    services = base["services"]
    for job in prometheus["scrape_configs"]:
        for target in job.get("static_configs", [{}])[0].get("targets", []):
            host, port = target.split(":")
            assert host == "localhost" or host in services, target
            if host == "receiver":
                assert port in services["receiver"]["expose"]
    datasource = load("grafana/provisioning/datasources/prometheus.yml")["datasources"][0]
    dashboards = list((DOCKER / "grafana" / "dashboards").glob("*.json"))
    assert dashboards
    for path in dashboards:
        dashboard = json.loads(path.read_text())
        assert dashboard["uid"] and dashboard["panels"]
        for panel in dashboard["panels"]:
            assert panel["datasource"]["uid"] == datasource["uid"]
