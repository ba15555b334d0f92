"""Throttling answers (429 + Retry-After) are retried as client-go does, others are not.

kubeadmpy-apiserver never throttles, so a loopback `ThrottlingServer` plays the upstream wire
fact (reference/apiserver.md §6: 429 with a Retry-After header and details.retryAfterSeconds);
it stands in for no installed component's behaviour that could be produced for real.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from kubeadmpy.client import Client, ClientConfig, RealClock, TokenSource, errors


@dataclass
class ThrottlingServer:
    """Answers the first `throttle` requests with 429 (or `code`), then a ConfigMap."""

    throttle: int
    code: int = 429
    retry_after: str | None = "1"
    seen: list[dict[str, str]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(dict(request.headers))
        if len(self.seen) <= self.throttle:
            reason = "TooManyRequests" if self.code == 429 else "InternalError"
            headers = {"Retry-After": self.retry_after} if self.retry_after else {}
            return web.json_response({"kind": "Status", "apiVersion": "v1",
                                      "status": "Failure", "reason": reason,
                                      "message": "slow down", "code": self.code},
                                     status=self.code, headers=headers)
        return web.json_response({"kind": "ConfigMap", "metadata": {"name": "x"}})


class RecordingClock(RealClock):
    """Real monotonic time, but sleeps are recorded instead of waited."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


@pytest.fixture
async def serve() -> AsyncIterator[object]:
    runners: list[web.AppRunner] = []

    async def start(server: ThrottlingServer) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", server.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


async def get_with(url: str, clock: RecordingClock) -> dict[str, object]:
    config = ClientConfig(server=url, qps=0, token_source=TokenSource("secret-token"))
    async with Client(config, clock=clock) as client:
        return await client.get("configmaps", "x", "default")


async def test_429_is_retried_after_retry_after_then_succeeds(serve: object) -> None:
    server, clock = ThrottlingServer(throttle=2), RecordingClock()
    url = await serve(server)  # type: ignore[operator]
    assert (await get_with(url, clock))["kind"] == "ConfigMap"
    assert clock.slept == [1.0, 1.0]
    assert len(server.seen) == 3


async def test_retries_stop_after_max_retries(serve: object) -> None:
    server, clock = ThrottlingServer(throttle=100), RecordingClock()
    url = await serve(server)  # type: ignore[operator]
    with pytest.raises(errors.TooManyRequests) as caught:
        await get_with(url, clock)
    assert caught.value.retryable and caught.value.retry_after == 1.0
    assert len(server.seen) == 4, "the first try and three retries"


async def test_a_server_error_without_retry_after_is_raised_at_once(serve: object) -> None:
    server, clock = ThrottlingServer(throttle=1, code=500, retry_after=None), RecordingClock()
    url = await serve(server)  # type: ignore[operator]
    with pytest.raises(errors.ServerError):
        await get_with(url, clock)
    assert len(server.seen) == 1 and clock.slept == []


async def test_requests_carry_user_agent_accept_and_bearer_token(serve: object) -> None:
    server = ThrottlingServer(throttle=0)
    url = await serve(server)  # type: ignore[operator]
    await get_with(url, RecordingClock())
    headers = server.seen[0]
    assert headers["User-Agent"].startswith("kubeadmpy-client/")
    assert headers["Authorization"] == "Bearer secret-token"
    assert headers["Accept"] == "application/json"
