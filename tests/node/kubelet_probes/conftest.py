"""A private containerd per module, and busybox pods the probe tests aim at."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from probe_pods import RunningPod, start_pod, stop_pod

from kubeadmpy.cri import CRIClient
from kubeadmpy.cri.scratch import ScratchContainerd


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScratchContainerd]:
    scratch = ScratchContainerd(Path(tmp_path_factory.mktemp("containerd")))
    try:
        asyncio.run(scratch.start())
        yield scratch
    finally:
        problems = asyncio.run(scratch.close())
        assert not problems, problems


@pytest.fixture
async def cri(runtime: ScratchContainerd) -> AsyncIterator[CRIClient]:
    async with CRIClient(runtime.endpoint, timeout=30) as client:
        yield client


@pytest.fixture
async def web_pod(runtime: ScratchContainerd, cri: CRIClient) -> AsyncIterator[RunningPod]:
    """busybox httpd on :8080 serving /www; /www/cgi-bin/status answers with the status in
    /www/code, /www/cgi-bin/redirect redirects to the URL in /www/to."""
    script = (
        "mkdir -p /www/cgi-bin && echo ok > /www/healthz && echo 500 > /www/code && "
        "printf '#!/bin/sh\\necho \"Status: $(cat /www/code) Set\"\\necho\\necho body\\n' "
        "> /www/cgi-bin/status && chmod +x /www/cgi-bin/status && "
        "printf '#!/bin/sh\necho \"Status: 302 Found\"\necho \"Location: $(cat /www/to)\"\necho\n' "
        "> /www/cgi-bin/redirect && chmod +x /www/cgi-bin/redirect && "
        "exec httpd -f -p 8080 -h /www")
    pod = await start_pod(cri, runtime, "web", ["sh", "-c", script])
    try:
        await pod.wait_for_port(8080)
        yield pod
    finally:
        await stop_pod(cri, pod)


@pytest.fixture
async def sleeper_pod(runtime: ScratchContainerd, cri: CRIClient) -> AsyncIterator[RunningPod]:
    pod = await start_pod(cri, runtime, "sleeper", ["sleep", "3600"])
    try:
        yield pod
    finally:
        await stop_pod(cri, pod)
