"""The cluster DNS addon manifest renders to kubeadm's CoreDNS objects (names, labels, RBAC,
tolerations, probes) with kubeadmpy-dns as the command, and every object passes the API schema."""

from __future__ import annotations

import kubernetes_validate
import pytest

from kubeadmpy.dns.config import parse_settings
from kubeadmpy.render.addons_dns import (
    DnsAddonValues,
    dns_args,
    parse_dns_addon,
    render_dns_addon,
)
from kubeadmpy.render.environment import RenderError

VALUES = DnsAddonValues(image="registry.local/kubeadmpy/control-plane:v1.33.1",
                        cluster_ip="10.96.0.10")


def test_the_manifest_holds_kubeadms_coredns_objects() -> None:
    account, role, binding, deployment, service = parse_dns_addon(
        render_dns_addon(VALUES).content)
    assert (account["metadata"]["name"], account["metadata"]["namespace"]) == (
        "coredns", "kube-system")
    assert role["metadata"]["name"] == binding["metadata"]["name"] == "system:coredns"
    granted = {(group, resource): rule["verbs"] for rule in role["rules"]
               for group in rule["apiGroups"] for resource in rule["resources"]}
    for resource in ("endpoints", "services", "pods", "namespaces"):
        assert granted[("", resource)] == ["list", "watch"]
    assert granted[("discovery.k8s.io", "endpointslices")] == ["list", "watch"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "coredns",
                                    "namespace": "kube-system"}]

    assert deployment["metadata"]["name"] == "coredns"
    pod = deployment["spec"]["template"]
    assert pod["metadata"]["labels"] == {"k8s-app": "kube-dns"}
    assert deployment["spec"]["replicas"] == 2
    spec = pod["spec"]
    assert spec["priorityClassName"] == "system-cluster-critical"
    assert spec["serviceAccountName"] == "coredns" and spec["dnsPolicy"] == "Default"
    assert {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"} in spec[
        "tolerations"]
    (container,) = spec["containers"]
    assert container["image"] == VALUES.image and container["command"] == ["kubeadmpy-dns"]
    assert [(p["name"], p["containerPort"], p["protocol"]) for p in container["ports"]] == [
        ("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")]
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": 8080,
                                                     "scheme": "HTTP"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": 8181,
                                                      "scheme": "HTTP"}

    assert (service["metadata"]["name"], service["spec"]["clusterIP"]) == ("kube-dns",
                                                                           "10.96.0.10")
    assert service["spec"]["selector"] == {"k8s-app": "kube-dns"}
    assert [(p["name"], p["port"], p["protocol"]) for p in service["spec"]["ports"]] == [
        ("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")]


@pytest.mark.parametrize("metrics_port", [0, 9153], ids=["without metrics", "with metrics"])
def test_every_object_passes_the_api_schema(metrics_port: int) -> None:
    values = DnsAddonValues(image="img:1", cluster_ip="fd00::a", metrics_port=metrics_port,
                            cluster_domain="corp.example", replicas=1)
    objects = parse_dns_addon(render_dns_addon(values).content)
    for obj in objects:
        kubernetes_validate.validate(obj, "1.33", strict=True)
    service = objects[-1]
    assert ("metrics" in [p["name"] for p in service["spec"]["ports"]]) == bool(metrics_port)
    assert bool(service["metadata"].get("annotations")) == bool(metrics_port)


def test_the_container_args_are_flags_the_server_accepts() -> None:
    args = dns_args(DnsAddonValues(image="x", cluster_ip="10.96.0.10",
                                   cluster_domain="corp.example", ttl=10))
    assert args == sorted(args)
    settings = parse_settings([*args, "--upstream=127.0.0.1"])  # resolv.conf not read
    assert (settings.cluster_domain, settings.ttl, settings.listen_port) == (
        "corp.example", 10, 53)


def test_a_service_ip_that_is_not_an_ip_is_refused() -> None:
    with pytest.raises(RenderError, match=r"'10\.96\.0' is not an IP"):
        render_dns_addon(DnsAddonValues(image="x", cluster_ip="10.96.0"))
