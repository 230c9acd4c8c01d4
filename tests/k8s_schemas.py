"""Schema checks for rendered Kubernetes objects and Helm values, shared by the tests.

Core API objects are checked with ``kubernetes-validate`` against the Kubernetes version of the stack; custom
resources against the ``openAPIV3Schema`` of their upstream CRD; Helm values against the keys of the chart's own
``values.yaml``, because Helm silently ignores a misspelt key. The CRD schemas and chart values are the project's
trimmed copies in ``tests/schemas/`` (structure only, each naming its upstream source), generated from the upstream
files by ``scripts/trim_schemas.py``, so a clone runs every schema test with nothing outside the repository.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "tests" / "schemas"
"""The folder of CRD schemas (``crds/``) and chart values (``charts/<chart>/``) the checks read."""


@functools.lru_cache(maxsize=1)
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """``{(apiVersion, kind): openAPIV3Schema}`` for every CRD version of the trimmed copies."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted((SCHEMAS / "crds").glob("*.json")):
        for crd in json.loads(path.read_text())["crds"]:
            for version, schema in crd["versions"].items():
                out[(f"{crd['group']}/{version}", crd["kind"])] = schema
    return out


def is_core(obj: dict[str, Any]) -> bool:
    group = obj["apiVersion"].split("/")[0] if "/" in obj["apiVersion"] else ""
    return "." not in group or (group.endswith(".k8s.io") and group not in ("gateway.networking.k8s.io",))


def validate_object(obj: dict[str, Any], kubernetes_version: str) -> list[str]:
    """Problems with one object; empty when it validates."""
    key = (obj["apiVersion"], obj["kind"])
    schemas = crd_schemas()
    name = f"{obj['kind']} {obj.get('metadata', {}).get('name')}"
    if key in schemas:
        validator = jsonschema.Draft7Validator(schemas[key])
        return [f"{name}: {'.'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in validator.iter_errors(obj)]
    if is_core(obj):
        import kubernetes_validate

        try:
            kubernetes_validate.validate(obj, f"{kubernetes_version}.0", strict=True)
        except kubernetes_validate.ValidationError as exc:
            return [f"{name}: {'.'.join(str(p) for p in exc.path)}: {exc.message}"]
        except kubernetes_validate.utils.SchemaNotFoundError as exc:
            return [f"{name}: no schema: {exc}"]
        return []
    return [f"{name}: no schema for {key} (add its CRD to the reference and run scripts/trim_schemas.py)"]


def values_key_paths(values: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(values, dict):
        for k, v in values.items():
            path = f"{prefix}.{k}" if prefix else str(k)
            yield path
            yield from values_key_paths(v, path)


def unknown_values_keys(values: dict[str, Any], chart_values: dict[str, Any]) -> list[str]:
    """Key paths set in ``values`` that the chart's defaults do not have, except under free-form maps."""
    unknown = []
    for path in values_key_paths(values):
        node: Any | None = chart_values
        for part in path.split("."):
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, dict) and not node:
                node = None  # an empty map in the chart's defaults is free-form
                break
            elif node is None:
                break  # below a free-form map or an unset (null/commented) default
            else:
                unknown.append(path)
                break
            if node is None or node == {} or isinstance(node, list):
                break
    return unknown


CHART_FOLDERS = {
    "nvidia-device-plugin": "nvidia-device-plugin",
    "dcgm-exporter": "dcgm-exporter",
    "keda": "keda",
    "keda-add-ons-http": "http-add-on",
    "kserve-resources": "kserve-resources",
    "kube-prometheus-stack": "kube-prometheus-stack",
    "mlflow": "mlflow",
    "gateway-helm": "gateway-helm",
    "cloudnative-pg": "cloudnative-pg",
}
"""Chart name (as a Helm release names it) -> its folder under ``tests/schemas/charts``."""


SUBCHART_KEYS: dict[str, dict[str, Any]] = {
    "kube-prometheus-stack": {
        # kube-state-metrics chart (prometheus-community/helm-charts charts/kube-state-metrics/values.yaml)
        "kube-state-metrics": {"metricLabelsAllowlist": []},
        # grafana chart (grafana/helm-charts charts/grafana/values.yaml)
        "grafana": {"resources": {}},
    },
}
"""Subchart keys a parent chart passes down but does not repeat in its own values.yaml (checked upstream)."""


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(out.get(key), dict) and isinstance(value, dict) else value
    return out


def chart_values(chart_folder: str) -> dict[str, Any]:
    folder = SCHEMAS / "charts" / chart_folder
    path = folder / "values.yaml" if (folder / "values.yaml").exists() else folder / "values.tmpl.yaml"
    return _merge(yaml.safe_load(path.read_text()) or {}, SUBCHART_KEYS.get(chart_folder, {}))
