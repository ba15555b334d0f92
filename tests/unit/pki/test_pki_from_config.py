"""A kubeadm configuration maps onto PKISettings field by field."""

from __future__ import annotations

from datetime import timedelta
from pathlib import PurePosixPath

from kubeadmpy.config import load_init_config
from kubeadmpy.pki import PKISettings
from kubeadmpy.pki.from_config import certificates_dir, settings_from_config

CONFIG = """\
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint: {advertiseAddress: 10.0.0.7, bindPort: 7443}
nodeRegistration: {name: cp1}
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
clusterName: prod
controlPlaneEndpoint: lb.example.com
certificatesDir: /srv/pki
encryptionAlgorithm: RSA-3072
certificateValidityPeriod: 48h
caCertificateValidityPeriod: 87600h
networking: {serviceSubnet: 10.100.0.0/16, dnsDomain: corp.local}
apiServer: {certSANs: [api.example.com]}
etcd: {local: {serverCertSANs: [etcd.example.com], peerCertSANs: [10.9.9.9]}}
"""


def test_every_pki_field_comes_from_the_config() -> None:
    bundle = load_init_config(None, text=CONFIG)
    assert settings_from_config(bundle) == PKISettings(
        node_name="cp1",
        advertise_address="10.0.0.7",
        bind_port=7443,
        control_plane_endpoint="lb.example.com",
        service_subnet="10.100.0.0/16",
        dns_domain="corp.local",
        cluster_name="prod",
        apiserver_cert_sans=("api.example.com",),
        etcd_server_cert_sans=("etcd.example.com",),
        etcd_peer_cert_sans=("10.9.9.9",),
        encryption_algorithm="RSA-3072",
        cert_validity=timedelta(hours=48),
        ca_validity=timedelta(hours=87600),
    )
    assert certificates_dir(bundle) == PurePosixPath("/srv/pki")
