"""The bundled type schemas answer the questions patch and apply ask about a field."""

from __future__ import annotations

import pytest

from kubeadmpy.machinery.schema import GVK, PatchMeta, patch_meta_at, schema_for

POD = GVK("", "v1", "Pod")
DEPLOYMENT = GVK("apps", "v1", "Deployment")


@pytest.mark.parametrize(
    ("gvk", "path", "expected"),
    [
        pytest.param(POD, ["spec", "containers"],
                     PatchMeta(("merge",), "name", "map", ("name",)),
                     id="pod containers merge by name and are a map list keyed by name"),
        pytest.param(POD, ["spec", "containers", "ports"],
                     PatchMeta(("merge",), "containerPort", "map", ("containerPort", "protocol")),
                     id="container ports merge by containerPort but apply keys on port+protocol"),
        pytest.param(POD, ["spec", "volumes"],
                     PatchMeta(("merge", "retainKeys"), "name", "map", ("name",)),
                     id="volumes merge by name and retain keys"),
        pytest.param(POD, ["spec", "containers", "args"], PatchMeta(list_type="atomic"),
                     id="container args are an atomic list"),
        pytest.param(POD, ["metadata", "finalizers"], PatchMeta(("merge",), list_type="set"),
                     id="finalizers are a set merged as primitives"),
        pytest.param(DEPLOYMENT, ["spec", "strategy"], PatchMeta(("retainKeys",)),
                     id="deployment strategy keeps the retainKeys strategy next to its ref"),
        pytest.param(DEPLOYMENT, ["spec", "selector"], PatchMeta(map_type="atomic"),
                     id="label selectors are atomic maps"),
        pytest.param(DEPLOYMENT, ["spec", "template", "spec", "containers"],
                     PatchMeta(("merge",), "name", "map", ("name",)),
                     id="lookups descend through refs into the pod template"),
        pytest.param(POD, ["spec", "noSuchField"], PatchMeta(),
                     id="unknown fields have no patch metadata"),
        pytest.param(GVK("example.com", "v1", "Widget"), ["spec"], PatchMeta(),
                     id="kinds without a schema have no patch metadata"),
    ],
)
def test_patch_metadata_of_a_field(gvk: GVK, path: list[str], expected: PatchMeta) -> None:
    assert patch_meta_at(gvk, path) == expected


def test_a_kind_without_a_schema_has_none() -> None:
    assert schema_for(GVK("example.com", "v1", "Widget")) is None


def test_schemas_carry_upstream_descriptions_and_required_fields() -> None:
    pod_spec = schema_for(POD).field("spec")  # type: ignore[union-attr]
    assert pod_spec is not None
    assert pod_spec.required == ("containers",)
    containers = pod_spec.field("containers")
    assert containers is not None
    assert containers.description.startswith("List of containers belonging to the pod.")


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"apiVersion": "v1", "kind": "Pod"}, GVK("", "v1", "Pod")),
        ({"apiVersion": "apps/v1", "kind": "Deployment"}, GVK("apps", "v1", "Deployment")),
        ({}, GVK("", "", "")),
    ],
    ids=["core group has an empty group", "named group is split off", "missing fields are empty"],
)
def test_gvk_of_an_object(obj: dict[str, str], expected: GVK) -> None:
    assert GVK.of(obj) == expected
    assert GVK.of(obj).api_version == obj.get("apiVersion", "")
