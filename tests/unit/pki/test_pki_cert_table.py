"""Every certificate of the table, read back with `cryptography`: subject, SANs, usages, chain."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kubeadmpy.pki import CERT_SPECS, PKISettings, ensure_certs
from kubeadmpy.pki.certs import is_signed_by

SERVER, CLIENT = ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH

# name → (file, issuer file, CN, O, EKUs)
EXPECTED = {
    "ca": ("ca.crt", "ca.crt", "kubernetes", [], []),
    "apiserver": ("apiserver.crt", "ca.crt", "kube-apiserver", [], [SERVER]),
    "apiserver-kubelet-client": (
        "apiserver-kubelet-client.crt", "ca.crt", "kube-apiserver-kubelet-client",
        ["kubeadm:cluster-admins"], [CLIENT],
    ),
    "front-proxy-ca": ("front-proxy-ca.crt", "front-proxy-ca.crt", "front-proxy-ca", [], []),
    "front-proxy-client": (
        "front-proxy-client.crt", "front-proxy-ca.crt", "front-proxy-client", [], [CLIENT],
    ),
    "etcd-ca": ("etcd/ca.crt", "etcd/ca.crt", "etcd-ca", [], []),
    "etcd-server": ("etcd/server.crt", "etcd/ca.crt", "node1", [], [SERVER, CLIENT]),
    "etcd-peer": ("etcd/peer.crt", "etcd/ca.crt", "node1", [], [SERVER, CLIENT]),
    "etcd-healthcheck-client": (
        "etcd/healthcheck-client.crt", "etcd/ca.crt", "kube-etcd-healthcheck-client", [], [CLIENT],
    ),
    "apiserver-etcd-client": (
        "apiserver-etcd-client.crt", "etcd/ca.crt", "kube-apiserver-etcd-client", [], [CLIENT],
    ),
}  # fmt: skip


def _load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _sans(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return ext.get_values_for_type(x509.DNSName), [
        str(ip) for ip in ext.get_values_for_type(x509.IPAddress)
    ]


def test_the_table_covers_every_kubeadm_certificate() -> None:
    assert [spec.name for spec in CERT_SPECS] == list(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_certificate_has_kubeadm_subject_usages_and_issuer(name: str, cert_dir: Path) -> None:
    settings = PKISettings(node_name="node1", advertise_address="192.168.1.10")
    ensure_certs(settings, cert_dir)
    file, issuer_file, common_name, orgs, ekus = EXPECTED[name]
    cert, issuer = _load(cert_dir / file), _load(cert_dir / issuer_file)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == common_name
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == orgs
    assert is_signed_by(cert, issuer)
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature
    if not ekus:  # a CA
        assert constraints.ca and usage.key_cert_sign
        assert _sans(cert) == ([common_name], [])
        assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(days=3650)
    else:
        assert not constraints.ca and not usage.key_cert_sign
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert list(eku) == ekus
        assert cert.not_valid_before_utc == issuer.not_valid_before_utc
        assert 1 <= cert.serial_number < 2**63 - 1


def test_apiserver_sans_cover_service_names_endpoint_and_extra_sans(cert_dir: Path) -> None:
    settings = PKISettings(
        node_name="node1",
        advertise_address="192.168.1.10",
        control_plane_endpoint="lb.example.com:443",
        dns_domain="corp.local",
        service_subnet="10.100.0.0/16",
        apiserver_cert_sans=("10.0.0.99", "*.apps.example.com", "not a name", "api.example.com"),
    )
    results = ensure_certs(settings, cert_dir, ["ca", "apiserver"])
    dns, ips = _sans(_load(cert_dir / "apiserver.crt"))
    assert dns == sorted(
        [
            "*.apps.example.com", "api.example.com", "kubernetes", "kubernetes.default",
            "kubernetes.default.svc", "kubernetes.default.svc.corp.local", "lb.example.com",
            "node1",
        ]
    )  # fmt: skip
    assert ips == ["10.100.0.1", "192.168.1.10", "10.0.0.99"]
    apiserver = results[1]
    assert apiserver.warnings == (
        "'not a name' was not added to the 'apiserver' SAN, because it is not a valid IP or "
        "RFC-1123 compliant DNS entry",
    )
    assert apiserver.messages[1] == (
        "apiserver serving cert is signed for DNS names [*.apps.example.com api.example.com "
        "kubernetes kubernetes.default kubernetes.default.svc kubernetes.default.svc.corp.local "
        "lb.example.com node1] and IPs [10.100.0.1 192.168.1.10 10.0.0.99]"
    )


def test_an_ip_control_plane_endpoint_becomes_an_ip_san(cert_dir: Path) -> None:
    settings = PKISettings(
        node_name="node1", advertise_address="192.168.1.10", control_plane_endpoint="192.168.1.100"
    )
    ensure_certs(settings, cert_dir, ["ca", "apiserver"])
    dns, ips = _sans(_load(cert_dir / "apiserver.crt"))
    assert "192.168.1.100" in ips and "192.168.1.100" not in dns


@pytest.mark.parametrize("name", ["etcd-server", "etcd-peer"])
def test_etcd_serving_sans_are_node_localhost_and_loopbacks(name: str, cert_dir: Path) -> None:
    settings = PKISettings(
        node_name="node1",
        advertise_address="192.168.1.10",
        etcd_server_cert_sans=("etcd.example.com",),
        etcd_peer_cert_sans=("10.9.9.9",),
    )
    ensure_certs(settings, cert_dir, ["etcd-ca", name])
    dns, ips = _sans(_load(cert_dir / f"etcd/{name.removeprefix('etcd-')}.crt"))
    extra_dns = ["etcd.example.com"] if name == "etcd-server" else []
    extra_ips = ["10.9.9.9"] if name == "etcd-peer" else []
    assert dns == sorted(["localhost", "node1", *extra_dns])
    assert ips == ["192.168.1.10", "127.0.0.1", "::1", *extra_ips]
