"""subnet.env: upstream's four keys, written once per change, read back by the CNI plugin."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from kubeadmpy.errors import ConfigError
from kubeadmpy.network import subnetenv

ENV = subnetenv.SubnetEnv.for_node(ipaddress.IPv4Network("10.244.0.0/16"),
                                   ipaddress.IPv4Network("10.244.1.0/24"), 1450, True)


def test_the_subnet_is_written_with_its_first_host_address() -> None:
    assert subnetenv.render(ENV) == ("FLANNEL_NETWORK=10.244.0.0/16\n"
                                     "FLANNEL_SUBNET=10.244.1.1/24\n"
                                     "FLANNEL_MTU=1450\n"
                                     "FLANNEL_IPMASQ=true\n")


def test_write_creates_the_folder_and_reports_only_real_changes(tmp_path: Path) -> None:
    path = tmp_path / "run/flannel/subnet.env"
    assert subnetenv.write(path, ENV) is True
    assert path.stat().st_mode & 0o777 == 0o644
    assert subnetenv.write(path, ENV) is False
    assert subnetenv.parse(path.read_text()) == ENV


@pytest.mark.parametrize(("text", "field"), [
    ("FLANNEL_NETWORK=10.244.0.0/16\n", "FLANNEL_SUBNET"),
    ("garbage\n", "line 1"),
    (subnetenv.render(ENV).replace("1450", "wide"), "FLANNEL_MTU"),
    (subnetenv.render(ENV).replace("IPMASQ=true", "IPMASQ=maybe"), "FLANNEL_IPMASQ"),
    (subnetenv.render(ENV).replace("10.244.1.1/24", "node-a"), "FLANNEL_SUBNET"),
    (subnetenv.render(ENV).replace("10.244.0.0/16", "10.244.0.0/99"), "FLANNEL_NETWORK"),
], ids=["a missing key", "a line without =", "a non-numeric MTU", "IPMASQ not a boolean",
        "SUBNET not an address", "NETWORK not a network"])
def test_a_broken_file_names_the_key(text: str, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        subnetenv.parse(text, "/run/flannel/subnet.env")
    assert caught.value.field == field
