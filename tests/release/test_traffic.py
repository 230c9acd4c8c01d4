"""Weights are read and set on the route the serving component renders, and nothing else in it changes."""

from __future__ import annotations

from components.serving import ModelEndpointArgs, ModelVersion, build_objects
from release.settings import EndpointRelease
from release.traffic import weights, with_weights


def route(min_replicas: int) -> dict:
    args = ModelEndpointArgs(
        model_name="iris",
        versions=[
            ModelVersion(name="blue", storage_uri="s3://b/1", weight=100),
            ModelVersion(name="green", storage_uri="s3://b/1", weight=0),
        ],
        api_key_secret="iris-api-keys",
        min_replicas=min_replicas,
    )
    return next(o for o in build_objects("iris", args).objects if o["kind"] == "HTTPRoute")


def test_weights_of_direct_and_scale_to_zero_backends() -> None:
    for min_replicas, zero in ((1, False), (0, True)):
        e = EndpointRelease(endpoint="iris", registered_model="iris", model_name="iris", scale_to_zero=zero)
        r = route(min_replicas)
        assert weights(e, r) == {"blue": 100, "green": 0}
        shifted = with_weights(e, r, {"blue": 90, "green": 10})
        assert weights(e, shifted) == {"blue": 90, "green": 10}
        # Only the split's weights differ; the pinned rules (x-model-version) are untouched.
        assert [x for x in shifted["spec"]["rules"] if x["name"] != "split"] == [
            x for x in r["spec"]["rules"] if x["name"] != "split"
        ]
        assert weights(e, r) == {"blue": 100, "green": 0}, "the input is not modified"
