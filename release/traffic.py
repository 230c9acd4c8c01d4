"""The weights of an endpoint's HTTPRoute: read and set per slot, touching nothing else in the route.

The route (rendered by ``components.serving``) has a rule ``pin-<version>`` per version (matched by the
``x-model-version`` header) and a rule ``split`` whose backendRefs carry the weights. A slot's backend is its
predictor Service, or, for scale-to-zero endpoints, the interceptor Service with a header filter naming the slot.
"""

from __future__ import annotations

import copy
from typing import Any

from .settings import EndpointRelease

SPLIT_RULE = "split"
VERSION_HEADER = "x-model-version"


def _slot_of(e: EndpointRelease, ref: dict[str, Any]) -> str | None:
    for slot in e.slots:
        if ref.get("name") == e.service(slot):
            return slot
        for f in ref.get("filters") or []:
            for h in (f.get("requestHeaderModifier") or {}).get("set") or []:
                if h.get("value") == e.backend_id(slot):
                    return slot
    return None


def _split(route: dict[str, Any]) -> dict[str, Any]:
    for rule in route["spec"]["rules"]:
        if rule.get("name") == SPLIT_RULE:
            return rule
    raise LookupError(f"HTTPRoute {route['metadata']['name']} has no rule named {SPLIT_RULE!r}")


def weights(e: EndpointRelease, route: dict[str, Any]) -> dict[str, int]:
    """``{slot: weight}`` of the split rule."""
    out: dict[str, int] = {}
    for ref in _split(route).get("backendRefs") or []:
        slot = _slot_of(e, ref)
        if slot is not None:
            out[slot] = int(ref.get("weight", 1))
    missing = set(e.slots) - set(out)
    if missing:
        raise LookupError(f"HTTPRoute {e.route} has no backend for slot(s) {sorted(missing)}")
    return out


def with_weights(e: EndpointRelease, route: dict[str, Any], wanted: dict[str, int]) -> dict[str, Any]:
    """A copy of ``route`` whose split gives each slot its wanted weight; everything else unchanged."""
    out = copy.deepcopy(route)
    for ref in _split(out).get("backendRefs") or []:
        slot = _slot_of(e, ref)
        if slot in wanted:
            ref["weight"] = int(wanted[slot])
    return out
