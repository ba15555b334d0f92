"""kubeadmpy-dns as a real process against the real apiserver: Services and EndpointSlices made
with kubectl are answered to dnspython's resolver (with a pod's search list and ndots:5) and to
busybox's nslookup; changes follow; large answers come whole over TCP; other names go to a fake
upstream on loopback, and SERVFAIL comes back when it stays silent; /health and /ready answer
like CoreDNS's and SIGTERM ends the process cleanly."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.resolver
import dns.reversename
import pytest
from apiserver_harness import Cluster, wait_until
from dns_process import RunningDns, launched
from fake_resolver import ANSWER_IP

BUSYBOX = shutil.which("busybox")


def resolver(running: RunningDns, namespace: str = "default") -> dns.resolver.Resolver:
    """What a pod in `namespace` gets from the kubelet: search list and ndots:5."""
    res = dns.resolver.Resolver(configure=False)
    res.nameservers = ["127.0.0.1"]
    res.port = running.port
    res.search = [dns.name.from_text(f"{namespace}.svc.cluster.local"),
                  dns.name.from_text("svc.cluster.local"), dns.name.from_text("cluster.local")]
    res.ndots = 5
    res.use_search_by_default = True
    res.lifetime = 5
    return res


def records(res: dns.resolver.Resolver, name: str, rdtype: str = "A") -> list[str]:
    return sorted(rdata.to_text() for rdata in res.resolve(name, rdtype))


def rcode(running: RunningDns, name: str, rdtype: str = "A") -> dns.rcode.Rcode:
    reply = dns.query.udp(dns.message.make_query(name, rdtype), "127.0.0.1", 5, running.port)
    return reply.rcode()


def endpoint_slice(namespace: str, name: str, service: str, *endpoints: tuple[str, str]) -> str:
    return json.dumps({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": name, "namespace": namespace,
                     "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4", "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}],
        "endpoints": [{"addresses": [ip], "conditions": {"ready": True},
                       **({"hostname": host} if host else {})} for ip, host in endpoints]})


def make_services(cluster: Cluster, namespace: str) -> str:
    """web (ClusterIP), db (headless, two endpoints), ext (ExternalName); web's ClusterIP."""
    kubectl = cluster.kubectl
    kubectl("1.33", "create", "namespace", namespace)
    kubectl("1.33", "-n", namespace, "create", "service", "clusterip", "web", "--tcp=80:8080")
    kubectl("1.27", "-n", namespace, "create", "service", "clusterip", "db", "--clusterip=None",
            "--tcp=5432:5432")
    kubectl("1.33", "-n", namespace, "create", "service", "externalname", "ext",
            "--external-name=www.example.org")
    kubectl("1.33", "apply", "-f", "-", stdin=endpoint_slice(
        namespace, "db-1", "db", ("10.244.1.5", "db-0"), ("10.244.1.6", "")))
    return kubectl("1.33", "-n", namespace, "get", "service", "web", "-o",
                   "jsonpath={.spec.clusterIP}").stdout.strip()


def wait_resolvable(running: RunningDns, name: str, rdtype: str = "A") -> None:
    try:
        wait_until(lambda: rcode(running, name, rdtype) == dns.rcode.NOERROR, name, 30)
    except TimeoutError as exc:
        raise AssertionError(f"{exc}\n{running.log.read_text()}") from exc


def test_kubectl_services_resolve_as_the_dns_specification_says(
        own_cluster: Cluster, cluster_dns: RunningDns) -> None:
    web_ip = make_services(own_cluster, "team")
    wait_resolvable(cluster_dns, "db-0.db.team.svc.cluster.local")
    res = resolver(cluster_dns, "team")

    assert records(res, "web") == [web_ip]  # short name, through the search list
    assert records(res, "web.team") == [web_ip]
    assert records(res, "WEB.team.svc.cluster.local.") == [web_ip]
    assert records(res, "db") == ["10.244.1.5", "10.244.1.6"]
    assert records(res, "db-0.db") == ["10.244.1.5"]
    assert records(res, "10-244-1-6.db.team.svc.cluster.local.") == ["10.244.1.6"]
    assert records(res, "_pg._tcp.db.team.svc.cluster.local.", "SRV") == [
        "0 50 5432 10-244-1-6.db.team.svc.cluster.local.",
        "0 50 5432 db-0.db.team.svc.cluster.local."]
    assert records(res, "_80-8080._tcp.web.team.svc.cluster.local.", "SRV") == [
        "0 100 80 web.team.svc.cluster.local."]
    assert records(res, dns.reversename.from_address(web_ip).to_text(), "PTR") == [
        "web.team.svc.cluster.local."]
    assert records(res, "5.1.244.10.in-addr.arpa.", "PTR") == ["db-0.db.team.svc.cluster.local."]
    assert records(res, "10-244-7-8.team.pod.cluster.local.") == ["10.244.7.8"]

    ext = res.resolve("ext.team.svc.cluster.local.", "A")
    assert [r.to_text() for r in ext] == [ANSWER_IP]  # CNAME, then the upstream's answer
    assert ext.canonical_name.to_text() == "www.example.org."

    assert rcode(cluster_dns, "nope.team.svc.cluster.local") == dns.rcode.NXDOMAIN
    assert rcode(cluster_dns, "web.nowhere.svc.cluster.local") == dns.rcode.NXDOMAIN
    assert rcode(cluster_dns, "web.team.svc.cluster.local", "AAAA") == dns.rcode.NOERROR
    with pytest.raises(dns.resolver.NoAnswer):
        res.resolve("web.team.svc.cluster.local.", "AAAA")
    with pytest.raises(dns.resolver.NXDOMAIN):
        res.resolve("nope")


@pytest.mark.skipif(BUSYBOX is None, reason="busybox is not installed")
def test_busybox_nslookup_finds_services_and_ptr(own_cluster: Cluster,
                                                 cluster_dns: RunningDns) -> None:
    web_ip = make_services(own_cluster, "tools")
    wait_resolvable(cluster_dns, "web.tools.svc.cluster.local")
    server = f"127.0.0.1:{cluster_dns.port}"

    def nslookup(*args: str) -> subprocess.CompletedProcess[str]:
        assert BUSYBOX is not None
        return subprocess.run([BUSYBOX, "nslookup", *args, server], capture_output=True,
                              text=True, timeout=30, check=False)

    found = nslookup("-type=a", "web.tools.svc.cluster.local")
    assert found.returncode == 0 and f"Address: {web_ip}" in found.stdout, found
    assert "Non-authoritative" not in found.stdout  # our own zone: authoritative
    srv = nslookup("-type=srv", "_pg._tcp.db.tools.svc.cluster.local")
    assert "5432 db-0.db.tools.svc.cluster.local" in srv.stdout, srv
    ptr = nslookup(web_ip)  # an address: busybox asks for its in-addr.arpa PTR
    assert "name = web.tools.svc.cluster.local" in ptr.stdout, ptr
    missing = nslookup("-type=a", "nope.tools.svc.cluster.local")
    assert missing.returncode != 0 and "NXDOMAIN" in missing.stdout, missing


def test_changes_follow_and_large_answers_come_whole_over_tcp(
        own_cluster: Cluster, cluster_dns: RunningDns) -> None:
    make_services(own_cluster, "churn")
    kubectl = own_cluster.kubectl
    many = [(f"10.244.9.{i}", "") for i in range(1, 61)]
    kubectl("1.33", "apply", "-f", "-", stdin=endpoint_slice("churn", "db-1", "db", *many))
    name = "db.churn.svc.cluster.local"
    wait_until(lambda: len(dns.query.tcp(dns.message.make_query(name, "A"), "127.0.0.1", 5,
                                         cluster_dns.port).answer[0]) == 60, "60 endpoints")
    short = dns.query.udp(dns.message.make_query(name, "A", use_edns=False), "127.0.0.1", 5,
                          cluster_dns.port, ignore_trailing=True)
    assert short.flags & dns.flags.TC
    assert len(resolver(cluster_dns, "churn").resolve("db")) == 60  # retried over TCP

    kubectl("1.33", "-n", "churn", "delete", "service", "web")
    wait_until(lambda: rcode(cluster_dns, "web.churn.svc.cluster.local") == dns.rcode.NXDOMAIN,
               "web gone")


def test_other_names_are_forwarded_upstream_and_servfail_when_it_is_silent(
        cluster_dns: RunningDns) -> None:
    res = resolver(cluster_dns)
    assert records(res, "www.example.org.") == [ANSWER_IP]
    assert "www.example.org." in cluster_dns.upstream.seen
    assert rcode(cluster_dns, "nothing.invalid") == dns.rcode.NXDOMAIN  # upstream's verdict
    assert rcode(cluster_dns, "silent.example.org") == dns.rcode.SERVFAIL
    # every search-list candidate for an outside name is answered in-zone, none forwarded
    assert not [n for n in cluster_dns.upstream.seen if n.endswith("cluster.local.")]


def test_health_ready_and_a_clean_exit_on_sigterm(own_cluster: Cluster, tmp_path: Path) -> None:
    with launched(own_cluster, tmp_path) as running:
        assert running.get(running.health, "/health") == (200, "OK")
        assert running.get(running.ready, "/ready") == (200, "OK")
        running.process.send_signal(signal.SIGTERM)
        assert running.process.wait(timeout=15) == 0, running.log.read_text()
        assert "Traceback" not in running.log.read_text()


def test_a_dns_port_in_use_is_reported_without_a_traceback(own_cluster: Cluster,
                                                            cluster_dns: RunningDns) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kubeadmpy.dns.main", f"--kubeconfig={own_cluster.kubeconfig}",
         f"--listen=127.0.0.1:{cluster_dns.port}", "--resolv-conf=", "--health-listen=",
         "--ready-listen="], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1, result
    assert f"kubeadmpy-dns: --listen: cannot serve DNS on 127.0.0.1:{cluster_dns.port}/udp: " \
        "Address already in use" in result.stderr, result
    assert "Traceback" not in result.stderr
