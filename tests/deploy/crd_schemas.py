"""Schemas for the custom resources that k8s/ uses, which the Kubernetes schemas do not
cover: KEDA's ScaledObject and TriggerAuthentication, cert-manager's Issuer. Written from
those projects' CRDs for the fields the manifests use; unknown fields are rejected."""

from __future__ import annotations

from typing import Any

STRING = {"type": "string"}
INTEGER = {"type": "integer", "minimum": 0}
NAME_REF = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": STRING, "key": STRING, "kind": STRING},
    "additionalProperties": False,
}
METADATA = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
        "namespace": STRING,
        "labels": {"type": "object", "additionalProperties": STRING},
        "annotations": {"type": "object", "additionalProperties": STRING},
    },
    "additionalProperties": False,
}


def _resource(api_version: str, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": api_version},
            "kind": {"const": kind},
            "metadata": METADATA,
            "spec": spec,
        },
        "additionalProperties": False,
    }


SCALED_OBJECT = _resource(
    "keda.sh/v1alpha1",
    "ScaledObject",
    {
        "type": "object",
        "required": ["scaleTargetRef", "triggers"],
        "properties": {
            "scaleTargetRef": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": STRING,
                    "kind": STRING,
                    "apiVersion": STRING,
                    "envSourceContainerName": STRING,
                },
                "additionalProperties": False,
            },
            "pollingInterval": INTEGER,
            "cooldownPeriod": INTEGER,
            "idleReplicaCount": INTEGER,
            "minReplicaCount": INTEGER,
            "maxReplicaCount": INTEGER,
            "triggers": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["type", "metadata"],
                    "properties": {
                        "type": STRING,
                        "name": STRING,
                        "metricType": {"enum": ["AverageValue", "Value", "Utilization"]},
                        "metadata": {"type": "object", "additionalProperties": STRING},
                        "authenticationRef": NAME_REF,
                    },
                    "additionalProperties": False,
                },
            },
        },
        "additionalProperties": False,
    },
)

TRIGGER_AUTHENTICATION = _resource(
    "keda.sh/v1alpha1",
    "TriggerAuthentication",
    {
        "type": "object",
        "properties": {
            "secretTargetRef": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["parameter", "name", "key"],
                    "properties": {"parameter": STRING, "name": STRING, "key": STRING},
                    "additionalProperties": False,
                },
            },
        },
        "additionalProperties": False,
    },
)

ISSUER = _resource(
    "cert-manager.io/v1",
    "Issuer",
    {
        "type": "object",
        "required": ["acme"],
        "properties": {
            "acme": {
                "type": "object",
                "required": ["server", "privateKeySecretRef"],
                "properties": {
                    "server": {"type": "string", "pattern": "^https://"},
                    "email": {"type": "string", "pattern": "^[^@\\s]+@[^@\\s]+$"},
                    "privateKeySecretRef": NAME_REF,
                    "solvers": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "http01": {
                                    "type": "object",
                                    "properties": {
                                        "ingress": {
                                            "type": "object",
                                            "properties": {
                                                "ingressClassName": STRING,
                                                "class": STRING,
                                                "serviceType": STRING,
                                            },
                                            "additionalProperties": False,
                                        }
                                    },
                                    "additionalProperties": False,
                                }
                            },
                            "additionalProperties": False,
                        },
                    },
                },
                "additionalProperties": False,
            }
        },
        "additionalProperties": False,
    },
)

CUSTOM = {
    ("keda.sh/v1alpha1", "ScaledObject"): SCALED_OBJECT,
    ("keda.sh/v1alpha1", "TriggerAuthentication"): TRIGGER_AUTHENTICATION,
    ("cert-manager.io/v1", "Issuer"): ISSUER,
}
