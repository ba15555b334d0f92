"""What the registry factories do with the manager's flags: start, stay off as upstream does
when a needed flag is unset, or refuse a bad flag naming it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kubeadmpy.client import Client, ClientConfig, SharedInformerFactory
from kubeadmpy.controllers.cluster import csrsigning, nodeipam, rootca
from kubeadmpy.controllers.cluster.common import Disabled
from kubeadmpy.controllers.registry import ControllerContext, ManagerOptions
from kubeadmpy.errors import ConfigError
from kubeadmpy.pki import certs, keys

CA_PEM = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def context(options: ManagerOptions, ca_pem: bytes = b"") -> ControllerContext:
    client = Client(ClientConfig(server="https://127.0.0.1:1", ca_pem=ca_pem))
    return ControllerContext("test", client, SharedInformerFactory(client), options)


def test_node_ipam_stays_off_without_allocate_node_cidrs() -> None:
    assert isinstance(nodeipam.new_controller(context(ManagerOptions())), Disabled)


def test_node_ipam_refuses_a_bad_cluster_cidr() -> None:
    options = ManagerOptions(allocate_node_cidrs=True, cluster_cidr="10.244.0.0/33")
    with pytest.raises(ConfigError) as caught:
        nodeipam.new_controller(context(options))
    assert caught.value.field == "--cluster-cidr"


def test_the_signer_stays_off_without_signing_files() -> None:
    assert isinstance(csrsigning.new_controller(context(ManagerOptions())), Disabled)


def test_the_signer_refuses_a_key_that_is_not_the_cas(tmp_path: Path) -> None:
    ca_key, other_key = keys.generate_key("ECDSA-P256"), keys.generate_key("ECDSA-P256")
    ca = certs.create_ca("kubernetes", ca_key, dt.timedelta(days=1))
    (tmp_path / "ca.crt").write_bytes(certs.cert_pem(ca))
    (tmp_path / "other.key").write_bytes(keys.private_key_pem(other_key))
    options = ManagerOptions(cluster_signing_cert_file=str(tmp_path / "ca.crt"),
                             cluster_signing_key_file=str(tmp_path / "other.key"))
    with pytest.raises(ConfigError) as caught:
        csrsigning.new_controller(context(options))
    assert caught.value.field == "--cluster-signing-key-file"


def test_the_signer_names_an_unreadable_file(tmp_path: Path) -> None:
    options = ManagerOptions(cluster_signing_cert_file=str(tmp_path / "missing.crt"),
                             cluster_signing_key_file=str(tmp_path / "missing.key"))
    with pytest.raises(ConfigError, match=r"missing\.crt") as caught:
        csrsigning.new_controller(context(options))
    assert caught.value.field == "--cluster-signing-cert-file"


def test_root_ca_falls_back_to_the_kubeconfigs_ca_and_names_a_bad_file(tmp_path: Path) -> None:
    publisher = rootca.new_controller(context(ManagerOptions(), ca_pem=CA_PEM))
    assert isinstance(publisher, rootca.RootCAPublisher)
    assert publisher.ca_bundle == CA_PEM.decode()
    assert isinstance(rootca.new_controller(context(ManagerOptions())), Disabled)
    (tmp_path / "not-a-ca").write_text("hello")
    with pytest.raises(ConfigError) as caught:
        rootca.new_controller(context(ManagerOptions(root_ca_file=str(tmp_path / "not-a-ca"))))
    assert caught.value.field == "--root-ca-file"
