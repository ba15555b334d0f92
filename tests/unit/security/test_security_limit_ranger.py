"""LimitRanger admission: defaults applied and annotated, min/max/ratio refused with upstream's
words, Pod totals and claims bounded; and the LimitRange API defaults the server stores."""

from __future__ import annotations

from typing import Any

import pytest
from security_testkit import user

from kubeadmpy.apiserver.resources.limits import LimitRangeStrategy, ResourceQuotaStrategy
from kubeadmpy.scheduler.quantities import canonical
from kubeadmpy.security.limit_ranger import ANNOTATION, LimitRanger, pod_totals
from kubeadmpy.security.node_restriction import AdmissionDenied, AdmissionRequest

ALICE = user("alice")


def limit_range(*items: dict[str, Any], namespace: str = "team") -> dict[str, Any]:
    return {"metadata": {"name": "lr", "namespace": namespace}, "spec": {"limits": list(items)}}


def container(name: str, requests: dict[str, str] | None = None,
              limits: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    resources = {k: v for k, v in (("requests", requests), ("limits", limits)) if v}
    return {"name": name, "image": "busybox", **({"resources": resources} if resources else {}),
            **extra}


def pod_with(*containers: dict[str, Any], init: tuple[dict[str, Any], ...] = ()
             ) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": list(containers)}
    if init:
        spec["initContainers"] = list(init)
    return {"metadata": {"name": "x", "namespace": "team"}, "spec": spec}


def admit(obj: dict[str, Any], *ranges: dict[str, Any], resource: str = "pods",
          operation: str = "CREATE") -> dict[str, Any] | None:
    plugin = LimitRanger(lambda ns: [r for r in ranges if r["metadata"]["namespace"] == ns])
    return plugin.admit(AdmissionRequest(ALICE, operation, resource, "", "", "team", "x", obj))


def refusal(obj: dict[str, Any], *ranges: dict[str, Any], **kwargs: Any) -> str:
    with pytest.raises(AdmissionDenied) as caught:
        admit(obj, *ranges, **kwargs)
    assert caught.value.code == 403
    return str(caught.value)


DEFAULTS = limit_range({"type": "Container", "default": {"cpu": "500m", "memory": "128Mi"},
                        "defaultRequest": {"cpu": "250m", "memory": "64Mi"}})


def test_defaults_fill_containers_and_init_containers_and_are_annotated() -> None:
    given = pod_with(container("app"), container("side", limits={"cpu": "1"}),
                     init=(container("setup"),))
    admitted = admit(given, DEFAULTS)
    assert admitted is not None
    app, side = admitted["spec"]["containers"]
    assert app["resources"] == {"requests": {"cpu": "250m", "memory": "64Mi"},
                                "limits": {"cpu": "500m", "memory": "128Mi"}}
    assert side["resources"]["limits"] == {"cpu": "1", "memory": "128Mi"}
    assert admitted["spec"]["initContainers"][0]["resources"]["requests"]["cpu"] == "250m"
    assert admitted["metadata"]["annotations"][ANNOTATION] == (
        "LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for "
        "container app; cpu, memory request for container side; memory limit for container "
        "side; cpu, memory request for init container setup; cpu, memory limit for init "
        "container setup")
    # the caller's object is untouched (the chain copies only what it changes)
    assert "resources" not in given["spec"]["containers"][0]


def test_nothing_to_default_leaves_the_pod_alone() -> None:
    full = pod_with(container("app", {"cpu": "100m", "memory": "1Mi"},
                              {"cpu": "200m", "memory": "2Mi"}))
    assert admit(full, DEFAULTS) is None
    assert admit(pod_with(container("app"))) is None  # no LimitRange in the namespace
    assert admit(pod_with(container("app")), limit_range(namespace="other")) is None


@pytest.mark.parametrize(("item", "resources", "message"), [
    ({"max": {"cpu": "1"}}, ({"cpu": "500m"}, {"cpu": "2"}),
     "maximum cpu usage per Container is 1, but limit is 2"),
    ({"max": {"cpu": "1"}}, ({"cpu": "1500m"}, {"cpu": "1"}),
     "maximum cpu usage per Container is 1, but request is 1500m"),
    ({"max": {"memory": "1Gi"}}, ({"memory": "1Mi"}, None),
     "maximum memory usage per Container is 1Gi.  No limit is specified"),
    ({"min": {"cpu": "100m"}}, ({"cpu": "50m"}, {"cpu": "1"}),
     "minimum cpu usage per Container is 100m, but request is 50m"),
    ({"min": {"cpu": "100m"}}, (None, {"cpu": "1"}),
     "minimum cpu usage per Container is 100m.  No request is specified"),
    ({"min": {"memory": "64Mi"}}, ({"memory": "64Mi"}, {"memory": "32Mi"}),
     "minimum memory usage per Container is 64Mi, but limit is 32Mi"),
    ({"maxLimitRequestRatio": {"cpu": "2"}}, ({"cpu": "100m"}, {"cpu": "1"}),
     "cpu max limit to request ratio per Container is 2, but provided ratio is 10.000000"),
    ({"maxLimitRequestRatio": {"cpu": "2"}}, (None, {"cpu": "1"}),
     "cpu max limit to request ratio per Container is 2, but no request is specified or "
     "request is 0"),
], ids=["limit over max", "request over max", "max without a limit", "request under min",
        "min without a request", "limit under min", "ratio too high", "ratio without request"])
def test_container_bounds_are_refused_with_upstreams_words(
        item: dict[str, Any], resources: tuple[Any, Any], message: str) -> None:
    lr = limit_range({"type": "Container", **item})
    given = pod_with(container("c", *resources))
    assert refusal(given, lr) == f'pods "x" is forbidden: {message}'


def test_defaults_apply_before_bounds_so_a_bare_pod_passes() -> None:
    stored = limit_range({"type": "Container", "max": {"cpu": "1"}, "min": {"cpu": "100m"}})
    LimitRangeStrategy().default(stored)  # default ← max, defaultRequest ← default
    admitted = admit(pod_with(container("c")), stored)
    assert admitted is not None
    assert admitted["spec"]["containers"][0]["resources"] == {"requests": {"cpu": "1"},
                                                              "limits": {"cpu": "1"}}


def test_several_violations_are_listed_together() -> None:
    lr = limit_range({"type": "Container", "max": {"cpu": "1", "memory": "1Gi"}})
    message = refusal(pod_with(container("c", None, {"cpu": "2", "memory": "2Gi"})), lr)
    assert message == ('pods "x" is forbidden: [maximum cpu usage per Container is 1, but limit '
                       "is 2, maximum memory usage per Container is 1Gi, but limit is 2Gi]")


def test_pod_items_bound_the_pods_totals() -> None:
    lr = limit_range({"type": "Pod", "max": {"cpu": "1"}})
    two = pod_with(container("a", {"cpu": "300m"}, {"cpu": "600m"}),
                   container("b", {"cpu": "300m"}, {"cpu": "600m"}))
    assert refusal(two, lr) == ('pods "x" is forbidden: maximum cpu usage per Pod is 1, but '
                                "limit is 1200m")


def test_pod_totals_count_init_containers_as_upstream() -> None:
    spec = pod_with(container("a", {"cpu": "100m"}), container("b", {"cpu": "100m"}),
                    init=(container("big", {"cpu": "500m"}),
                          container("sidecar", {"cpu": "50m"}, restartPolicy="Always")))["spec"]
    # sidecars run alongside the app containers; an ordinary init container only needs its peak
    assert {k: canonical(str(v)) for k, v in pod_totals(spec, 0).items()} == {"cpu": "500m"}
    assert pod_totals(pod_with(container("a", {"cpu": "1"}),
                               init=(container("s", {"cpu": "1"}, restartPolicy="Always"),)
                               )["spec"], 0)["cpu"] == 2


def test_claims_are_bounded_on_create_and_update() -> None:
    lr = limit_range({"type": "PersistentVolumeClaim", "max": {"storage": "2Gi"},
                      "min": {"storage": "1Gi"}})
    claim = {"metadata": {"name": "x"}, "spec": {"resources": {"requests": {"storage": "5Gi"}}}}
    assert refusal(claim, lr, resource="persistentvolumeclaims") == (
        'persistentvolumeclaims "x" is forbidden: maximum storage usage per '
        "PersistentVolumeClaim is 2Gi, but request is 5Gi")
    small = {"metadata": {"name": "x"}, "spec": {"resources": {"requests": {"storage": "1Mi"}}}}
    assert "minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 1Mi" in \
        refusal(small, lr, resource="persistentvolumeclaims", operation="UPDATE")
    fine = {"metadata": {"name": "x"}, "spec": {"resources": {"requests": {"storage": "1Gi"}}}}
    assert admit(fine, lr, resource="persistentvolumeclaims") is None


def test_pod_updates_and_subresources_are_not_checked() -> None:
    lr = limit_range({"type": "Container", "max": {"cpu": "1"}})
    big = pod_with(container("c", None, {"cpu": "2"}))
    assert admit(big, lr, operation="UPDATE") is None
    plugin = LimitRanger(lambda ns: [lr])
    assert plugin.admit(AdmissionRequest(ALICE, "CREATE", "pods", "binding", "", "team", "x",
                                         big)) is None


def test_limitrange_api_defaults_follow_upstream() -> None:
    stored = limit_range({"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "1Mi"},
                          "default": {"memory": "8Mi"}},
                         {"type": "Pod", "max": {"cpu": "4"}})
    LimitRangeStrategy().default(stored)
    container_item, pod_item = stored["spec"]["limits"]
    assert container_item["default"] == {"memory": "8Mi", "cpu": "2"}
    assert container_item["defaultRequest"] == {"memory": "8Mi", "cpu": "2"}
    assert "default" not in pod_item


@pytest.mark.parametrize(("item", "field", "fragment"), [
    ({"type": "Container", "max": {"cpu": "1"}, "min": {"cpu": "2"}}, "spec.limits[0].min[cpu]",
     'Invalid value: "2": min value 2 is greater than max value 1'),
    ({"type": "Container", "maxLimitRequestRatio": {"cpu": "0.5"}},
     "spec.limits[0].maxLimitRequestRatio[cpu]", "ratio 0.5 is less than 1"),
    ({"type": "Container", "default": {"cpu": "lots"}}, "spec.limits[0].default[cpu]",
     "'lots'"),
    ({"max": {"cpu": "1"}}, "spec.limits[0].type", "Required value"),
    ({"type": "Node"}, "spec.limits[0].type", 'Unsupported value: "Node"'),
], ids=["min above max", "ratio below one", "not a quantity", "no type", "unknown type"])
def test_limitrange_validation_names_the_field(item: dict[str, Any], field: str,
                                               fragment: str) -> None:
    causes = LimitRangeStrategy().validate(limit_range(item))
    assert any(c.field == field and fragment in c.message for c in causes), causes


@pytest.mark.parametrize(("written", "printed"), [
    ("1000m", "1"), ("1.5", "1500m"), ("0.1", "100m"), ("2000", "2k"), ("1500", "1500"),
    ("1.5Gi", "1536Mi"), ("1024Mi", "1Gi"), ("512", "512"), ("1e3", "1e3"), ("0", "0"),
], ids=lambda v: v)
def test_quantities_print_as_upstreams_canonical_form(written: str, printed: str) -> None:
    assert canonical(written) == printed


def test_a_negative_quota_limit_is_refused_naming_the_field() -> None:
    quota = {"metadata": {"name": "q"}, "spec": {"hard": {"pods": "-1", "secrets": "0"}}}
    causes = ResourceQuotaStrategy().validate(quota)
    assert [(c.field, c.message) for c in causes] == [
        ("spec.hard[pods]", 'Invalid value: "-1": must be greater than or equal to 0')]
