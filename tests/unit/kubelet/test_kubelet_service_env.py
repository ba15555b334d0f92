"""Service-link variables: upstream's names and values, which Services count, and override order."""

from __future__ import annotations

import asyncio
from typing import Any

from kubeadmpy.kubelet.env import container_env
from kubeadmpy.kubelet.service_env import service_environment, service_variables


def service(namespace: str, name: str, ip: str, *ports: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"namespace": namespace, "name": name},
            "spec": {"clusterIP": ip, "ports": list(ports)}}


API = service("default", "kubernetes", "10.96.0.1",
              {"name": "https", "port": 443, "protocol": "TCP"})
REDIS = service("shop", "redis-primary", "10.0.0.11",
                {"name": "redis", "port": 6379, "protocol": "TCP"},
                {"port": 9121, "protocol": "UDP"})


def pod(namespace: str = "shop", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"namespace": namespace, "name": "p"}, "spec": spec}


def test_one_service_gives_upstreams_variables() -> None:
    assert service_variables(REDIS) == {
        "REDIS_PRIMARY_SERVICE_HOST": "10.0.0.11",
        "REDIS_PRIMARY_SERVICE_PORT": "6379",
        "REDIS_PRIMARY_SERVICE_PORT_REDIS": "6379",
        "REDIS_PRIMARY_PORT": "tcp://10.0.0.11:6379",
        "REDIS_PRIMARY_PORT_6379_TCP": "tcp://10.0.0.11:6379",
        "REDIS_PRIMARY_PORT_6379_TCP_PROTO": "tcp",
        "REDIS_PRIMARY_PORT_6379_TCP_PORT": "6379",
        "REDIS_PRIMARY_PORT_6379_TCP_ADDR": "10.0.0.11",
        "REDIS_PRIMARY_PORT_9121_UDP": "udp://10.0.0.11:9121",
        "REDIS_PRIMARY_PORT_9121_UDP_PROTO": "udp",
        "REDIS_PRIMARY_PORT_9121_UDP_PORT": "9121",
        "REDIS_PRIMARY_PORT_9121_UDP_ADDR": "10.0.0.11"}


def test_headless_services_have_no_variables() -> None:
    assert service_variables(service("shop", "db", "None", {"port": 5432})) == {}
    assert service_variables(service("shop", "db", "", {"port": 5432})) == {}


def test_the_api_service_always_and_the_namespace_services_with_links() -> None:
    other = service("elsewhere", "cache", "10.0.0.12", {"port": 11211})
    with_links = service_environment(pod(), [API, REDIS, other])
    assert with_links["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"
    assert with_links["KUBERNETES_SERVICE_PORT"] == "443"
    assert with_links["KUBERNETES_SERVICE_PORT_HTTPS"] == "443"
    assert "REDIS_PRIMARY_SERVICE_HOST" in with_links
    assert not any(key.startswith("CACHE_") for key in with_links)
    without = service_environment(pod(enableServiceLinks=False), [API, REDIS])
    assert "KUBERNETES_SERVICE_HOST" in without and "REDIS_PRIMARY_SERVICE_HOST" not in without


def test_the_api_service_wins_over_a_namespace_service_of_the_same_name() -> None:
    impostor = service("shop", "kubernetes", "10.0.0.99", {"port": 8443})
    assert service_environment(pod(), [impostor, API])["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"


def test_container_env_overrides_and_refers_to_service_links() -> None:
    container = {"name": "c", "env": [
        {"name": "KUBERNETES_SERVICE_PORT", "value": "6443"},
        {"name": "REDIS_URL", "value": "redis://$(REDIS_PRIMARY_SERVICE_HOST):6379"}]}

    async def no_objects(kind: str, namespace: str, name: str) -> None:
        return None

    env = dict(asyncio.run(container_env(
        pod(), container, no_objects, pod_ip="10.244.0.5", host_ip="10.0.0.10",
        node_allocatable={}, service_links=service_environment(pod(), [API, REDIS]))))
    assert env["KUBERNETES_SERVICE_PORT"] == "6443"
    assert env["REDIS_URL"] == "redis://10.0.0.11:6379"
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"
