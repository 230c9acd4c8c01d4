"""Checks of single values a stack file gives, in the form a cloud or Kubernetes will accept them.

Why here and not only in pydantic types: these values are plain strings to the model (a quantity, a CIDR, a
hostname, a bucket name), and each is refused much later, by the cloud API or the Kubernetes API server in the
middle of a ``pulumi up``, or not at all (a URL where a hostname belongs makes a route that matches nothing).
Checking them before anything is created, with the user's key path and the value quoted, turns that into one
line the user can act on. The components check their own arguments too; :func:`user_facing` keeps the list to
what the user wrote when a component reports the same mistake under its own field name.
"""

from __future__ import annotations

import ipaddress
import os
import re
from decimal import Decimal
from typing import Any

from components.common import Cloud, Problems

from .base import effective

DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
POOL_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,28}[a-z0-9])?$")
LABEL_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?)?$")
GCP_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
GCP_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
HOSTNAME = re.compile(r"^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
QUANTITY = re.compile(r"^(\d+(\.\d*)?|\.\d+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$")
AWS_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
GCP_REGION = re.compile(r"^[a-z]+-[a-z]+\d+$")
STORAGE_SCHEMES = ("s3", "gs", "https", "http", "pvc", "hf", "oci")
PLACEHOLDER = "{artifact_root}"
OBJECT_NAME = "must be a Kubernetes object name (lowercase letters, digits, '-' and '.', <= 253)"
DNS_LABEL_TEXT = "must be a DNS label (lowercase letters, digits, '-', <= 63)"
SUFFIXES: dict[str, int | Decimal] = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
}


def quantity(text: str) -> Decimal | None:
    """A Kubernetes resource quantity's value (``500m`` -> 0.5, ``2Gi`` -> 2147483648), or None if it is not one."""
    match = QUANTITY.match(text) if isinstance(text, str) else None
    if match is None:
        return None
    number, suffix = Decimal(match.group(1)), match.group(3) or ""
    if suffix[:1] in ("e", "E"):
        return number * Decimal(10) ** int(suffix[1:])
    return number * Decimal(SUFFIXES[suffix])


def check_dns_label(p: Problems, key: str, value: str | None) -> None:
    if value is not None:
        p.check(bool(DNS_LABEL.match(value)), key, DNS_LABEL_TEXT, value)


def check_object_name(p: Problems, key: str, value: str | None) -> None:
    if value is not None:
        p.check(len(value) <= 253 and bool(DNS_SUBDOMAIN.match(value)), key, OBJECT_NAME, value)


def check_hostname(p: Problems, key: str, value: str, port_ok: bool = False) -> None:
    """A hostname as Gateway API takes it: no scheme, port or path; lowercase. ``port_ok``: a Host header
    pattern (MLflow's ``--allowed-hosts``), which may end in ``:<port>``."""
    host = re.sub(r":\d{1,5}$", "", value) if port_ok else value
    if "://" in value:
        p.add(key, "must be a hostname like models.example.com, not a URL", value)
    elif ":" in host or "/" in host or " " in host:
        p.add(key, "must be a hostname like models.example.com, without a port or path", value)
    elif host.lower() != host and HOSTNAME.match(host.lower()):
        p.add(key, "must be a lowercase hostname like models.example.com", value)
    elif len(host) > 253 or not HOSTNAME.match(host):
        p.add(key, "must be a hostname like models.example.com (letters, digits, '-' and '.')", value)


def check_quantities(p: Problems, owner: Any, kinds: tuple[str, ...] = ("cpu", "memory")) -> None:
    """``<kind>_request`` and ``<kind>_limit`` of ``owner`` parse and the request is not above the limit."""
    for kind in kinds:
        example = "(e.g. 500m, 2)" if kind == "cpu" else "(e.g. 512Mi, 2Gi)"
        values: dict[str, Decimal | None] = {}
        for end in ("request", "limit"):
            key = f"{kind}_{end}"
            text = effective(owner, key)
            value = values[end] = quantity(text)
            p.check(value is not None and value > 0, key, f"must be a Kubernetes quantity {example}", text)
        low, high = values["request"], values["limit"]
        if low is not None and high is not None and low > high:
            p.add(
                f"{kind}_request",
                f"must be <= {kind}_limit ({effective(owner, f'{kind}_limit')!r})",
                effective(owner, f"{kind}_request"),
            )


def check_cidr(p: Problems, key: str, value: str, example: str) -> None:
    text = f"must be an IPv4 CIDR like {example}"
    if "/" not in value:
        p.add(key, f"{text} (no prefix length)", value)
        return
    try:
        ipaddress.IPv4Network(value)
    except ipaddress.NetmaskValueError:
        p.add(key, f"{text} (the prefix length must be 0-32)", value)
    except ValueError as exc:
        if "host bits set" in str(exc):
            p.add(key, f"{text} (host bits set; did you mean {ipaddress.IPv4Network(value, strict=False)}?)", value)
        else:
            p.add(key, f"{text} (not an IPv4 address)", value)


def check_uri(p: Problems, key: str, value: str) -> None:
    """A data location: a bucket URI must name its bucket; a local path is left alone."""
    rest = value.replace(PLACEHOLDER, "s3://artifact-root", 1) if value.startswith(PLACEHOLDER) else value
    if "{" in rest or "}" in rest:
        p.add(key, f"the only placeholder is {PLACEHOLDER}, at the start", value)
        return
    scheme, sep, tail = rest.partition("://")
    if not sep:
        if not rest:
            p.add(key, "must name a bucket or host (s3://bucket/path)", value)
        return
    if scheme not in STORAGE_SCHEMES:
        p.add(key, f"must start with {', '.join(s + '://' for s in STORAGE_SCHEMES)} or {PLACEHOLDER}", value)
        return
    if not tail.partition("/")[0]:
        p.add(key, f"must name a bucket or host ({scheme}://bucket/path)", value)


def check_s3_bucket(p: Problems, key: str, name: str) -> None:
    if not re.match(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", name):
        p.add(
            key,
            "S3 refuses this bucket name (3-63 lowercase letters, digits, '-' and '.', starting and ending with a "
            "letter or digit)",
            name,
        )
    elif re.match(r"^\d+\.\d+\.\d+\.\d+$", name):
        p.add(key, "S3 refuses bucket names formatted as an IP address", name)
    elif ".." in name or ".-" in name or "-." in name:
        p.add(key, "S3 refuses bucket names with two adjacent periods or a period next to a dash", name)
    else:
        for prefix in ("xn--", "sthree-", "amzn-s3-demo-"):
            p.check(not name.startswith(prefix), key, f"S3 refuses bucket names starting with {prefix!r}", name)
        for suffix in ("-s3alias", "--ol-s3", "--x-s3", "--table-s3", ".mrap"):
            p.check(not name.endswith(suffix), key, f"S3 refuses bucket names ending with {suffix!r}", name)


def check_gcs_bucket(p: Problems, key: str, name: str) -> None:
    if not re.match(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", name):
        p.add(
            key,
            "GCS refuses this bucket name (3-63 lowercase letters, digits, '-', '_' and '.', starting and ending "
            "with a letter or digit)",
            name,
        )
    elif re.match(r"^\d+\.\d+\.\d+\.\d+$", name):
        p.add(key, "GCS refuses bucket names formatted as an IP address", name)
    elif name.startswith("goog") or "google" in name or "g00gle" in name:
        p.add(key, "GCS refuses bucket names starting with 'goog' or containing 'google'", name)


def _labels(p: Problems, key: str, labels: dict[str, str], cloud: Cloud | None = None) -> None:
    for name, value in labels.items():
        if cloud == Cloud.GCP:
            p.check(
                bool(GCP_LABEL_KEY.match(name)),
                f"{key}.{name}",
                "must be a GCP label key (lowercase letters, digits, '_' and '-', starting with a letter, <= 63)",
                name,
            )
            p.check(
                bool(GCP_LABEL_VALUE.match(str(value))),
                f"{key}.{name}",
                "must be a GCP label value (lowercase letters, digits, '_' and '-', <= 63)",
                value,
            )
            continue
        prefix, _, base = name.rpartition("/")
        ok = bool(LABEL_NAME.match(base)) and (not prefix or (len(prefix) <= 253 and bool(DNS_SUBDOMAIN.match(prefix))))
        p.check(ok, f"{key}.{name}", "must be a label key ([prefix/]name: letters, digits, '-', '_', '.', <= 63)", name)
        p.check(
            bool(LABEL_VALUE.match(str(value))),
            f"{key}.{name}",
            "must be a label value (letters, digits, '-', '_', '.', <= 63, starting and ending alphanumeric)",
            value,
        )


def check_region(p: Problems, cloud: Cloud, region: str | None) -> None:
    if region is None or cloud not in (Cloud.AWS, Cloud.GCP):
        return
    key, pattern, example = {
        Cloud.AWS: ("aws:region", AWS_REGION, "us-west-2"),
        Cloud.GCP: ("gcp:region", GCP_REGION, "us-central1"),
    }[cloud]
    if pattern.match(region):
        return
    zone = re.sub(r"-?[a-z]$", "", region)
    hint = ", not a zone" if zone != region and pattern.match(zone) else ""
    p.items.append(f"{key}: must be a region like {example}{hint}, got {region!r}")


def pool_name_problems(cfg: Any) -> list[str]:
    p = Problems()
    for name in cfg.gpu_pools:
        p.check(
            bool(POOL_NAME.match(name)),
            f"gpu_pools.{name}",
            "pool names are 1-30 lowercase letters, digits and dashes, starting with a letter and ending with a "
            "letter or digit",
            name,
        )
    return p.items


def secret_problems(keys: frozenset[str], project: str) -> list[str]:
    """Secret keys given as plain text in the stack file (``pulumi config set`` without ``--secret``)."""
    from pulumi.runtime import config as runtime_config

    out = []
    for name in sorted(keys):
        key = f"{project}:{name}"
        if runtime_config.get_config(key) is not None and not runtime_config.is_config_secret(key):
            out.append(f"{name}: must be a secret (pulumi config set --secret {key} <password>), got a plaintext value")
    return out


def kubeconfig_problems(cfg: Any) -> list[str]:
    p = Problems().at("cluster")
    path = cfg.cluster.kubeconfig_path
    if cfg.cloud != Cloud.EXISTING:
        if path is not None:
            p.add(
                "kubeconfig_path", f"is only used with cloud existing ({cfg.cloud.value} builds its own cluster)", path
            )
        return p.items
    if path is not None and not os.path.isfile(os.path.expanduser(path)):
        p.add("kubeconfig_path", "no such file (the preview and pulumi would otherwise use the default cluster)", path)
    return p.items


def cluster_problems(cfg: Any) -> list[str]:
    p = Problems()
    check_region(p, cfg.cloud, cfg.region)
    c = p.at("cluster")
    for i, cidr in enumerate(cfg.cluster.public_access_cidrs or ()):
        check_cidr(c, f"public_access_cidrs[{i}]", cidr, "203.0.113.0/24")
    for name, pool in cfg.gpu_pools.items():
        at = p.at(f"gpu_pools.{name}")
        if pool.accelerator_count is not None:
            at.check(pool.accelerator_count >= 1, "accelerator_count", "must be >= 1", pool.accelerator_count)
        _labels(at, "labels", pool.labels or {})
    if cfg.cloud == Cloud.GCP:
        _labels(p, "tags", cfg.tags or {}, Cloud.GCP)
    return pool_name_problems(cfg) + p.items + kubeconfig_problems(cfg)


def mlflow_problems(cfg: Any) -> list[str]:
    m = cfg.mlflow
    p = Problems().at("mlflow")
    if not m.enabled:
        return []
    check_dns_label(p, "namespace", m.namespace)
    check_quantities(p, m)
    for i, host in enumerate(m.allowed_hosts or ()):
        check_hostname(p, f"allowed_hosts[{i}]", host, port_ok=True)
    if m.bucket_name is not None:
        {Cloud.AWS: check_s3_bucket, Cloud.GCP: check_gcs_bucket}.get(cfg.cloud, check_s3_bucket)(
            p, "bucket_name", m.bucket_name
        )
    return p.items


def serving_problems(cfg: Any) -> list[str]:
    s = cfg.serving
    p = Problems().at("serving")
    if not s.enabled:
        return []
    platform = p.at("platform")
    check_dns_label(platform, "namespace", s.platform.namespace)
    check_object_name(platform, "tls_secret_name", s.platform.tls_secret_name)
    if s.platform.gateway_hostname is not None:
        check_hostname(platform, "gateway_hostname", s.platform.gateway_hostname)
    address = effective(s.platform, "prometheus_address")
    platform.check(
        re.match(r"^https?://[^/\s:]+(:\d+)?(/\S*)?$", address) is not None,
        "prometheus_address",
        "must be an http:// or https:// URL",
        address,
    )
    served: dict[str, str] = {}
    for name, e in s.endpoints.items():
        at = p.at(f"endpoints.{name}")
        model = e.model_name or name
        if model in served:
            at.add(
                "model_name",
                f"{model!r} is already served by endpoint {served[model]!r}; two endpoints cannot serve the same "
                "model name",
                model,
            )
        served.setdefault(model, name)
        check_quantities(at, e)
        check_object_name(at, "auth.api_key_secret", e.auth.api_key_secret)
        for i, host in enumerate(e.hostnames or ()):
            check_hostname(at, f"hostnames[{i}]", host)
        for vname, v in e.versions.items():
            check_uri(at, f"versions.{vname}.storage_uri", v.storage_uri)
    return p.items


def observability_problems(cfg: Any) -> list[str]:
    o = cfg.observability
    p = Problems().at("observability")
    if not o.enabled:
        return []
    check_dns_label(p, "namespace", o.namespace)
    for name, d in o.drift.models.items():
        at = p.at(f"drift.models.{name}")
        check_dns_label(at, "namespace", d.namespace)
        check_object_name(at, "service_account", d.service_account)
        check_uri(at, "reference_uri", d.reference_uri)
        check_uri(at, "current_uri", d.current_uri)
    return p.items


def problems(cfg: Any) -> list[str]:
    """Every value of ``cfg`` a cloud or Kubernetes would refuse, with the user's key path and the value."""
    return cluster_problems(cfg) + mlflow_problems(cfg) + serving_problems(cfg) + observability_problems(cfg)


# What a component reports under its own field name, as the stack file's key (or None: the same mistake is
# already reported under the user's key, because the component's value is derived from it).
_INTERNAL_KEYS = (
    (re.compile(r"^serving\.endpoints\.[^.]+\.namespace: "), None),
    (re.compile(r"^device_plugin\.sharing_modes\[\d+\]\."), None),
    (re.compile(r"^observability\.pool_hourly_prices_usd\."), None),
)


def user_facing(items: list[str]) -> list[str]:
    """``items`` with internal key paths rewritten to the user's and derived repeats dropped: one problem per
    key path, the first found (the checks above run before the components', and say more precisely what to fix)."""
    out: list[str] = []
    keys: set[str] = set()
    for item in items:
        for pattern, replacement in _INTERNAL_KEYS:
            if pattern.match(item):
                item = pattern.sub(replacement, item) if replacement is not None else ""
                break
        key = item.split(": ", 1)[0]
        if item and key not in keys:
            keys.add(key)
            out.append(item)
    return out
