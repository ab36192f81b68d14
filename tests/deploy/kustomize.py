"""A small kustomize renderer for the subset that k8s/ uses.

Supported: resources (files and directories), namespace, labels, images, replicas,
configMapGenerator / secretGenerator (literals, env files and files, with
`disableNameSuffixHash: true`, behavior create or merge) and strategic-merge patches.
Anything else raises, so the renderer never silently ignores what a kustomization says.
Where `kustomize` or `kubectl` is installed, the tests compare against it.
"""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import yaml

Resource = dict[str, Any]
SUPPORTED = {
    "apiVersion",
    "kind",
    "resources",
    "namespace",
    "labels",
    "images",
    "replicas",
    "configMapGenerator",
    "secretGenerator",
    "patches",
}
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "ClusterIssuer",
    "CustomResourceDefinition",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "ClusterTriggerAuthentication",
}
# Lists merged item by item on this key by strategic merge (the rest are replaced).
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
}


class KustomizeError(Exception):
    pass


def render(directory: Path) -> list[Resource]:
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        raise KustomizeError(f"{directory}: unsupported fields {sorted(unknown)}")
    resources: list[Resource] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        if path.is_dir():
            resources += render(path)
        else:
            resources += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    for kind in ("configMapGenerator", "secretGenerator"):
        for generator in kustomization.get(kind, []):
            generate(directory, kind, generator, resources)
    for patch in kustomization.get("patches", []):
        apply_patch(directory, patch, resources)
    for replica in kustomization.get("replicas", []):
        find(resources, None, replica["name"])["spec"]["replicas"] = replica["count"]
    for image in kustomization.get("images", []):
        for resource in resources:
            for container in containers(resource):
                set_image(container, image)
    for label in kustomization.get("labels", []):
        if label.get("includeSelectors"):
            raise KustomizeError("labels with includeSelectors are not supported")
        for resource in resources:
            resource.setdefault("metadata", {}).setdefault("labels", {}).update(label["pairs"])
            template = pod_template(resource)
            if label.get("includeTemplates") and template is not None:
                labels = template.setdefault("metadata", {}).setdefault("labels", {})
                labels.update(label["pairs"])
    namespace = kustomization.get("namespace")
    if namespace:
        for resource in resources:
            if resource["kind"] not in CLUSTER_SCOPED:
                resource["metadata"]["namespace"] = namespace
    return resources


def find(resources: list[Resource], kind: str | None, name: str) -> Resource:
    for resource in resources:
        if resource["metadata"]["name"] == name and kind in (None, resource["kind"]):
            return resource
    raise KustomizeError(f"no {kind or 'resource'} named {name}")


def generate(directory: Path, kind: str, spec: dict[str, Any], resources: list[Resource]) -> None:
    if not spec.get("options", {}).get("disableNameSuffixHash"):
        raise KustomizeError(f"{spec['name']}: name suffix hashes are not supported")
    data: dict[str, str] = {}
    for literal in spec.get("literals", []):
        key, _, value = literal.partition("=")
        data[key] = value
    for env_file in spec.get("envs", []):
        for line in (directory / env_file).read_text().splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                key, _, value = line.partition("=")
                data[key.strip()] = value
    for name in spec.get("files", []):
        key, _, path = name.rpartition("=")
        data[key or Path(path).name] = (directory / path).read_text()
    is_secret = kind == "secretGenerator"
    if is_secret:
        data = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    if spec.get("behavior", "create") == "merge":
        find(resources, "Secret" if is_secret else "ConfigMap", spec["name"])["data"].update(data)
        return
    resource: Resource = {
        "apiVersion": "v1",
        "kind": "Secret" if is_secret else "ConfigMap",
        "metadata": {"name": spec["name"]},
        "data": data,
    }
    if is_secret:
        resource["type"] = "Opaque"
    resources.append(resource)


def apply_patch(directory: Path, spec: dict[str, Any], resources: list[Resource]) -> None:
    if "target" in spec or "patch" in spec:
        raise KustomizeError("only `path:` strategic-merge patches are supported")
    for patch in yaml.safe_load_all((directory / spec["path"]).read_text()):
        target = find(resources, patch["kind"], patch["metadata"]["name"])
        merge(target, patch)


def merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        current = target.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            merge(current, value)
        elif isinstance(value, list) and isinstance(current, list) and key in MERGE_KEYS:
            by = MERGE_KEYS[key]
            for item in value:
                match = next((c for c in current if c.get(by) == item.get(by)), None)
                if match is None:
                    current.append(copy.deepcopy(item))
                else:
                    merge(match, item)
        else:
            target[key] = copy.deepcopy(value)


def pod_template(resource: Resource) -> dict[str, Any] | None:
    spec = resource.get("spec", {})
    if resource["kind"] == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    template: dict[str, Any] | None = spec.get("template")
    return template


def containers(resource: Resource) -> list[dict[str, Any]]:
    template = pod_template(resource)
    if template is None:
        return []
    spec = template.get("spec", {})
    return list(spec.get("containers", [])) + list(spec.get("initContainers", []))


def set_image(container: dict[str, Any], image: dict[str, Any]) -> None:
    current = container["image"]
    name, tag = current.split("@")[0], ""
    if ":" in name.rsplit("/", 1)[-1]:
        name, tag = name.rsplit(":", 1)
    if name != image["name"]:
        return
    name = image.get("newName", name)
    tag = image.get("newTag", tag)
    container["image"] = f"{name}:{tag}" if tag else name
