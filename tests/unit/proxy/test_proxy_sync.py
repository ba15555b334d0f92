"""The proxier's sync step: renders from the informer caches, writes only when the text changed
or the table vanished, reports health like upstream, and turns nft's refusal into an error
that quotes nft. `nft` here is a FakeNft script recording what it is given."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from proxy_objects import endpoint, endpoint_slice, port, service

from kubeadmpy.client import Client, ClientConfig
from kubeadmpy.proxy import nft, rules
from kubeadmpy.proxy.config import ProxySettings
from kubeadmpy.proxy.sync import Proxier

FAKE_NFT = """#!/bin/sh
dir="$(dirname "$0")"
if [ -f "$dir/fail" ]; then echo "Error: Could not process rule: No such file" >&2; exit 1; fi
if [ "$1" = list ]; then [ -f "$dir/exists" ]; exit $?; fi
n=$(ls "$dir" | grep -c '^applied-')
cat > "$dir/applied-$n"
touch "$dir/exists"
"""


@pytest.fixture
def fake_nft(tmp_path: Path) -> Path:
    script = tmp_path / "nft"
    script.write_text(FAKE_NFT)
    script.chmod(0o755)
    return tmp_path


def applied(directory: Path) -> list[str]:
    return [p.read_text() for p in sorted(directory.glob("applied-*"))]


async def make_proxier(fake: Path) -> tuple[Client, Proxier]:
    settings = ProxySettings(kubeconfig="", rules=rules.RuleSettings("node1", "10.244.0.0/16"),
                             nft_command=(str(fake / "nft"),))
    client = Client(ClientConfig(server="https://127.0.0.1:1"))
    proxier = Proxier(client, settings)
    proxier.services.store.upsert(service("web", "10.96.0.10", port(80)))
    proxier.slices.store.upsert(endpoint_slice("web", endpoint("10.244.1.2"),
                                               ports=[{"port": 80, "protocol": "TCP"}]))
    return client, proxier


def test_a_sync_writes_the_whole_table_once_and_again_only_when_needed(fake_nft: Path) -> None:
    async def scenario() -> None:
        client, proxier = await make_proxier(fake_nft)
        async with client:
            assert not proxier.healthy()  # nothing synced yet: 503, as upstream
            await proxier.sync_once()
            await proxier.sync_once()  # same caches, table present: nothing written
            assert len(applied(fake_nft)) == 1 and proxier.healthy()
            script = applied(fake_nft)[0]
            assert script.startswith("table ip kube-proxy\ndelete table ip kube-proxy\n")
            assert "dnat to 10.244.1.2:80" in script

            (fake_nft / "exists").unlink()  # someone flushed the ruleset
            await proxier.sync_once()
            assert len(applied(fake_nft)) == 2

            proxier.services.store.remove("default/web")
            await proxier.sync_once()
            assert "10.96.0.10" not in applied(fake_nft)[-1]
            assert proxier.stats.syncs == 4 and proxier.stats.applies == 3

    asyncio.run(scenario())


def test_nft_refusing_the_script_is_an_error_quoting_nft(fake_nft: Path) -> None:
    async def scenario() -> None:
        client, proxier = await make_proxier(fake_nft)
        async with client:
            (fake_nft / "fail").touch()
            with pytest.raises(nft.NftError, match="Could not process rule"):
                await proxier.sync_once()
            assert not proxier.healthy()

    asyncio.run(scenario())


def test_a_missing_nft_binary_says_to_install_nftables(tmp_path: Path) -> None:
    with pytest.raises(nft.NftError, match="install nftables"):
        asyncio.run(nft.run_script("", (str(tmp_path / "no-nft"),)))
