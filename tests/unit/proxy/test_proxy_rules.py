"""The generated `ip kube-proxy` table, read by meaning: where each service port goes, how an
endpoint is picked, what happens without endpoints — and that the real nft accepts the text."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from proxy_objects import (
    chain_names,
    chain_rules,
    elements,
    endpoint,
    endpoint_slice,
    port,
    service,
)

from kubeadmpy.proxy import model, rules

SETTINGS = rules.RuleSettings(node_name="node1", cluster_cidr="10.244.0.0/16")


def render(services: list[dict], slices: list[dict],
           settings: rules.RuleSettings = SETTINGS) -> str:
    return rules.render(model.all_service_ports(services, slices), settings)


def web() -> tuple[list[dict], list[dict]]:
    """web: ClusterIP 10.96.0.10, http 80→8080 on two pods, metrics 9090 on one pod."""
    svc = service("web", "10.96.0.10", port(80, "http"), port(9090, "metrics"))
    slices = [endpoint_slice("web", endpoint("10.244.1.2"), endpoint("10.244.2.3", "node2"),
                             ports=[{"name": "http", "port": 8080, "protocol": "TCP"}]),
              endpoint_slice("web", endpoint("10.244.1.2"), suffix="b",
                             ports=[{"name": "metrics", "port": 9091, "protocol": "TCP"}])]
    return [svc], slices


def dnat_targets(table: str, service_prefix: str) -> list[str]:
    """The DNAT targets reachable from a service-* chain through its numgen vmap."""
    dispatch = [r for r in chain_rules(table, service_prefix) if "numgen" in r]
    assert len(dispatch) == 1
    targets = []
    for chain in re.findall(r"goto (\S+?)(?:,| \})", dispatch[0]):
        dnat = [r for r in chain_rules(table, chain) if " dnat to " in r]
        targets.append(dnat[0].rsplit(" ", 1)[1])
    return targets


def test_each_cluster_ip_port_is_dnatted_to_its_own_endpoints_with_numgen_mod_n() -> None:
    table = render(*web())
    service_ips = elements(table, "service-ips")
    assert set(service_ips) == {"10.96.0.10 . tcp . 80", "10.96.0.10 . tcp . 9090"}
    http = service_ips["10.96.0.10 . tcp . 80"].removeprefix("goto ")
    metrics = service_ips["10.96.0.10 . tcp . 9090"].removeprefix("goto ")
    assert sorted(dnat_targets(table, http)) == ["10.244.1.2:8080", "10.244.2.3:8080"]
    assert dnat_targets(table, metrics) == ["10.244.1.2:9091"]
    assert any("numgen random mod 2 vmap" in r for r in chain_rules(table, http))
    assert any("numgen random mod 1 vmap" in r for r in chain_rules(table, metrics))


def test_traffic_from_outside_the_cluster_cidr_and_hairpin_traffic_are_masqueraded() -> None:
    table = render(*web())
    http = elements(table, "service-ips")["10.96.0.10 . tcp . 80"].removeprefix("goto ")
    assert ("ip daddr 10.96.0.10 tcp dport 80 ip saddr != 10.244.0.0/16 "
            "jump mark-for-masquerade") in chain_rules(table, http)
    hairpin = [chain_rules(table, c) for c in chain_names(table) if c.endswith("10.244.2.3/8080")]
    assert hairpin[0][0] == "ip saddr 10.244.2.3 jump mark-for-masquerade"  # pod to itself
    assert chain_rules(table, "mark-for-masquerade") == ["meta mark set meta mark | 0x4000"]
    assert "masquerade fully-random" in chain_rules(table, "masquerading")


def test_masquerade_all_marks_every_connection_and_the_bit_is_configurable() -> None:
    table = render(*web(), settings=rules.RuleSettings("node1", "", masquerade_bit=5,
                                                      masquerade_all=True))
    http = elements(table, "service-ips")["10.96.0.10 . tcp . 80"].removeprefix("goto ")
    assert "ip daddr 10.96.0.10 tcp dport 80 jump mark-for-masquerade" in chain_rules(table,
                                                                                      http)
    assert chain_rules(table, "mark-for-masquerade") == ["meta mark set meta mark | 0x20"]


def test_a_service_without_ready_endpoints_is_rejected_not_dnatted() -> None:
    svc = service("empty", "10.96.0.20", port(80))
    not_ready = endpoint_slice("empty", endpoint("10.244.1.9", ready=False),
                               ports=[{"port": 80, "protocol": "TCP"}])
    table = render([svc], [not_ready])
    assert elements(table, "service-ips") == {}
    assert elements(table, "no-endpoint-services") == {
        "10.96.0.20 . tcp . 80": "goto reject-chain"}
    assert chain_rules(table, "reject-chain")[0].startswith("reject")
    assert not [c for c in chain_names(table) if "default/empty" in c]


def test_an_endpoint_without_a_ready_condition_counts_as_ready() -> None:
    svc = service("web", "10.96.0.10", port(80))
    piece = endpoint_slice("web", endpoint("10.244.1.2", ready=None),
                           ports=[{"port": 8080, "protocol": "TCP"}])
    table = render([svc], [piece])
    assert dnat_targets(table, "service-") == ["10.244.1.2:8080"]


def test_nodeport_goes_through_an_external_chain_that_masquerades() -> None:
    svc = service("web", "10.96.0.10", port(80, "http", node_port=30080), type="NodePort")
    piece = endpoint_slice("web", endpoint("10.244.1.2"),
                           ports=[{"name": "http", "port": 8080, "protocol": "TCP"}])
    table = render([svc], [piece])
    external = elements(table, "service-nodeports")["tcp . 30080"].removeprefix("goto ")
    assert external.startswith("external-")
    assert chain_rules(table, external)[0] == "jump mark-for-masquerade"
    assert dnat_targets(table, external) == ["10.244.1.2:8080"]
    services = chain_rules(table, "services")
    assert any("fib daddr type local" in r and "@service-nodeports" in r for r in services)


def test_a_nodeport_without_endpoints_is_rejected_on_the_node() -> None:
    svc = service("web", "10.96.0.10", port(80, node_port=30080), type="NodePort")
    table = render([svc], [])
    assert elements(table, "no-endpoint-nodeports") == {"tcp . 30080": "goto reject-chain"}
    assert "ct state new jump nodeport-endpoints-check" in chain_rules(table, "filter-input")


def test_headless_and_externalname_services_are_skipped() -> None:
    headless = service("db", "None", port(5432))
    external = service("ext", "", port(80), type="ExternalName", externalName="example.com")
    table = render([headless, external], [])
    for name in ("service-ips", "no-endpoint-services", "cluster-ips"):
        assert elements(table, name) == {}


@pytest.mark.parametrize("protocol", ["TCP", "UDP", "SCTP"])
def test_each_protocol_keys_the_map_and_the_dnat(protocol: str) -> None:
    svc = service("dns", "10.96.0.53", port(53, "dns", protocol))
    piece = endpoint_slice("dns", endpoint("10.244.1.5"),
                           ports=[{"name": "dns", "port": 5353, "protocol": protocol}])
    table = render([svc], [piece])
    proto = protocol.lower()
    assert list(elements(table, "service-ips")) == [f"10.96.0.53 . {proto} . 53"]
    assert f"meta l4proto {proto} dnat to 10.244.1.5:5353" in chain_rules(table, "endpoint-")


def test_slice_ports_match_by_name_and_protocol_only() -> None:
    svc = service("dns", "10.96.0.53", port(53, "dns", "UDP"))
    tcp_only = endpoint_slice("dns", endpoint("10.244.1.5"),
                              ports=[{"name": "dns", "port": 53, "protocol": "TCP"}])
    table = render([svc], [tcp_only])
    assert list(elements(table, "no-endpoint-services")) == ["10.96.0.53 . udp . 53"]


def test_ipv6_slices_are_ignored_by_the_ip_table() -> None:
    svc = service("web", "10.96.0.10", port(80))
    v6 = endpoint_slice("web", {"addresses": ["fd00::1"], "conditions": {"ready": True}},
                        ports=[{"port": 80, "protocol": "TCP"}], address_type="IPv6")
    assert list(elements(render([svc], [v6]), "no-endpoint-services")) == [
        "10.96.0.10 . tcp . 80"]


def test_client_ip_affinity_remembers_the_client_per_endpoint_for_the_timeout() -> None:
    svc = service("web", "10.96.0.10", port(80), sessionAffinity="ClientIP",
                  sessionAffinityConfig={"clientIP": {"timeoutSeconds": 600}})
    piece = endpoint_slice("web", endpoint("10.244.1.2"), endpoint("10.244.2.3"),
                           ports=[{"port": 80, "protocol": "TCP"}])
    table = render([svc], [piece])
    service_rules = chain_rules(table, "service-")
    sticky = [r for r in service_rules if r.startswith("ip saddr @affinity-")]
    assert len(sticky) == 2 and service_rules.index(sticky[-1]) < len(service_rules) - 1
    assert "timeout 600s" in table and "flags dynamic,timeout" in table
    for chain in [c for c in chain_names(table) if c.startswith("endpoint-")]:
        set_name = chain.replace("endpoint-", "affinity-", 1)
        assert f"update @{set_name} {{ ip saddr }}" in chain_rules(table, chain)


def test_internal_traffic_policy_local_uses_only_this_nodes_endpoints() -> None:
    svc = service("web", "10.96.0.10", port(80), internalTrafficPolicy="Local")
    piece = endpoint_slice("web", endpoint("10.244.1.2", "node1"),
                           endpoint("10.244.2.3", "node2"),
                           ports=[{"port": 80, "protocol": "TCP"}])
    table = render([svc], [piece])
    assert dnat_targets(table, "service-") == ["10.244.1.2:80"]
    other_node = rules.RuleSettings("node3", "10.244.0.0/16")
    assert elements(render([svc], [piece], other_node), "no-endpoint-services") == {
        "10.96.0.10 . tcp . 80": "drop"}


def test_external_traffic_policy_local_keeps_the_client_address_for_remote_clients() -> None:
    svc = service("web", "10.96.0.10", port(80, node_port=30080), type="NodePort",
                  externalTrafficPolicy="Local")
    piece = endpoint_slice("web", endpoint("10.244.1.2", "node1"),
                           endpoint("10.244.2.3", "node2"),
                           ports=[{"port": 80, "protocol": "TCP"}])
    table = render([svc], [piece])
    external = chain_rules(table, "external-")
    assert "jump mark-for-masquerade" not in external
    assert "fib saddr type local jump mark-for-masquerade" in external
    assert "numgen random mod 1 vmap" in external[-1] and "10.244.1.2" in external[-1]


def test_pods_reaching_a_local_policy_node_port_use_every_endpoint_as_upstream() -> None:
    """Upstream's "short-circuit pod traffic": a pod (source in --cluster-cidr) is not an
    external client, so it gets the cluster policy (any endpoint, source kept) first."""
    svc = service("web", "10.96.0.10", port(80, node_port=30080), type="NodePort",
                  externalTrafficPolicy="Local")
    piece = endpoint_slice("web", endpoint("10.244.1.2", "node1"),
                           endpoint("10.244.2.3", "node2"),
                           ports=[{"port": 80, "protocol": "TCP"}])
    external = chain_rules(render([svc], [piece]), "external-")
    assert external[0].startswith("ip saddr 10.244.0.0/16 numgen random mod 2 vmap")
    assert "10.244.1.2" in external[0] and "10.244.2.3" in external[0]
    without_cidr = chain_rules(render([svc], [piece], rules.RuleSettings("node1")),
                               "external-")
    assert not any(rule.startswith("ip saddr") for rule in without_cidr)


def test_rendering_is_deterministic_whatever_the_informer_order() -> None:
    services, slices = web()
    other = service("api", "10.96.0.1", port(443, "https"))
    assert render([*services, other], slices) == render([other, *services], slices[::-1])


NFT = shutil.which("nft")


@pytest.mark.skipif(NFT is None, reason="needs the nft binary")
def test_the_real_nft_accepts_the_whole_replace_transaction() -> None:
    services, slices = web()
    services += [
        service("np", "10.96.0.30", port(80, node_port=30080), port(53, "dns", "UDP"),
                type="NodePort", externalTrafficPolicy="Local", sessionAffinity="ClientIP"),
        service("empty", "10.96.0.40", port(80, node_port=30081), type="NodePort"),
        service("sctp", "10.96.0.50", port(9999, protocol="SCTP")),
    ]
    slices += [endpoint_slice("np", endpoint("10.244.1.7"), endpoint("10.244.2.7", "node2"),
                              ports=[{"port": 8080, "protocol": "TCP"},
                                     {"name": "dns", "port": 53, "protocol": "UDP"}]),
               endpoint_slice("sctp", endpoint("10.244.1.8"),
                              ports=[{"port": 9999, "protocol": "SCTP"}])]
    script = rules.replace_script(render(services, slices))
    result = subprocess.run([str(NFT), "-c", "-f", "-"], input=script, text=True,
                            capture_output=True, check=False)
    assert result.returncode == 0, result.stderr
    empty = subprocess.run([str(NFT), "-c", "-f", "-"], text=True, capture_output=True,
                           input=rules.replace_script(render([], [])), check=False)
    assert empty.returncode == 0, empty.stderr


def test_a_key_two_services_claim_goes_to_the_first_so_nft_never_refuses_the_table() -> None:
    first = service("a-first", "10.96.0.10", port(80, node_port=30080), type="NodePort")
    second = service("b-second", "10.96.0.10", port(80, node_port=30080), type="NodePort")
    piece = endpoint_slice("a-first", endpoint("10.244.1.2"),
                           ports=[{"port": 80, "protocol": "TCP"}])
    table = render([second, first], [piece])  # "first" in (namespace, name) order
    assert list(elements(table, "service-ips")) == ["10.96.0.10 . tcp . 80"]
    assert "default/a-first" in elements(table, "service-ips")["10.96.0.10 . tcp . 80"]
    assert elements(table, "no-endpoint-services") == {}
    assert list(elements(table, "service-nodeports")) == ["tcp . 30080"]
    if NFT is not None:
        checked = subprocess.run([NFT, "-c", "-f", "-"], input=rules.replace_script(table),
                                 text=True, capture_output=True, check=False)
        assert checked.returncode == 0, checked.stderr
