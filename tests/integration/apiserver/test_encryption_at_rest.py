"""Encryption at rest through the server: --encryption-provider-config seals Secrets in etcd
(upstream's `k8s:enc:` format), the API still shows plaintext, and a server without the key
refuses to start instead of serving data it cannot read."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
from pathlib import Path

import aiohttp
import pytest
from apiserver_harness import APIServerProcess, Certs, Cluster, Etcd

from kubeadmpy.apiserver.etcd import EtcdClient, EtcdTLS


def encryption_config(path: Path, key: bytes) -> Path:
    path.write_text(f"""apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [secrets]
  providers:
  - secretbox:
      keys:
      - name: key1
        secret: {base64.b64encode(key).decode()}
  - identity: {{}}
""")
    return path


async def test_secrets_are_sealed_in_etcd_and_need_the_key(certs: Certs, tmp_path: Path) -> None:
    etcd = Etcd(certs, tmp_path / "etcd")
    config = encryption_config(tmp_path / "enc.yaml", os.urandom(32))
    server = APIServerProcess(certs, etcd, tmp_path,
                              extra_args=[f"--encryption-provider-config={config}"])
    try:
        etcd.start()
        server.start()
        cluster = Cluster(certs, etcd, server, tmp_path / "admin.conf", tmp_path)
        connector = aiohttp.TCPConnector(ssl=cluster.ssl_context())
        async with aiohttp.ClientSession(server.url, connector=connector) as http:
            secret = {"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}}
            async with http.post("/api/v1/namespaces/default/secrets", json=secret) as r:
                assert r.status == 201
            async with http.get("/api/v1/namespaces/default/secrets/s") as r:
                data = (await r.json())["data"]
            assert base64.b64decode(data["password"]) == b"hunter2"
        async with EtcdClient([etcd.url], EtcdTLS(
                certs.path("etcd/ca.crt"), certs.path("apiserver-etcd-client.crt"),
                certs.path("apiserver-etcd-client.key"))) as client:
            stored = (await client.range("/registry/secrets/default/s")).kvs[0].value
        assert stored.startswith(b"k8s:enc:secretbox:v1:key1:")
        assert b"hunter2" not in stored and b"aHVudGVyMg" not in stored

        server.stop()
        encryption_config(config, os.urandom(32))  # a different key under the same name
        refused = await asyncio.to_thread(subprocess.run, server.args(), capture_output=True,
                                          text=True, timeout=60)
        assert refused.returncode != 0
        assert "/registry/secrets/default/s" in refused.stderr
        assert "Traceback" not in refused.stderr
    finally:
        server.stop()
        etcd.stop()


def test_an_unreadable_encryption_config_is_refused(certs: Certs, tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("kind: EncryptionConfiguration\nresources: 3\n")
    server = APIServerProcess(certs, Etcd(certs, tmp_path / "etcd"), tmp_path,
                              extra_args=[f"--encryption-provider-config={tmp_path}/bad.yaml"])
    refused = subprocess.run(server.args(), capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "bad.yaml" in refused.stderr and "EncryptionConfiguration" in refused.stderr


pytestmark = pytest.mark.timeout(120)
