"""grpc probes against a real gRPC server on loopback speaking grpc.health.v1.Health/Check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from kubeadmpy.kubelet.probes import Result
from kubeadmpy.kubelet.probes.checks import grpc_probe

# service name → HealthCheckResponse bytes (field 1, varint status); absent → NOT_FOUND
ANSWERS = {"": b"\x08\x01", "db": b"\x08\x02"}


@pytest.fixture
async def health_server() -> AsyncIterator[int]:
    async def check(request: bytes, context: Any) -> bytes:
        service = request[2:].decode() if request else ""
        if service not in ANSWERS:
            await context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
        return ANSWERS[service]

    server = grpc.aio.server()
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
        "grpc.health.v1.Health", {"Check": grpc.unary_unary_rpc_method_handler(check)})])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield port
    finally:
        await server.stop(None)


@pytest.mark.parametrize(("service", "result", "message"), [
    pytest.param("", Result.SUCCESS, "", id="SERVING succeeds"),
    pytest.param("db", Result.FAILURE, 'service unhealthy (responded with "NOT_SERVING")',
                 id="NOT_SERVING fails naming the status"),
])
async def test_grpc_health_answers_decide(health_server: int, service: str, result: Result,
                                          message: str) -> None:
    outcome = await grpc_probe({"port": health_server, "service": service}, "127.0.0.1", 5)
    assert (outcome.result, outcome.message) == (result, message)


async def test_an_rpc_error_fails_the_probe(health_server: int) -> None:
    outcome = await grpc_probe({"port": health_server, "service": "nope"}, "127.0.0.1", 5)
    assert outcome.result is Result.FAILURE
    assert "unknown service" in outcome.message
