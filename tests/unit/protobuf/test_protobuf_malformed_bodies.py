"""Whatever bytes arrive, decoding ends in a result or a ProtobufDecodeError — never a traceback.

Real kubectl bodies are cut at every length and mutated at random (seeded, so failures repeat).
"""

from __future__ import annotations

import base64
import random

import pytest
from protobuf_encoding import KUBECTL_BODIES

from kubeadmpy.machinery.protobuf import ProtobufDecodeError, decode_k8s_protobuf

BODIES = {name: base64.b64decode(text) for name, text in KUBECTL_BODIES.items()}


def outcome(body: bytes) -> str:
    try:
        decode_k8s_protobuf(body)
    except ProtobufDecodeError:
        return "rejected"
    return "decoded"


@pytest.mark.parametrize("name", sorted(BODIES))
def test_the_captured_body_decodes(name: str) -> None:
    assert outcome(BODIES[name]) == "decoded"


@pytest.mark.parametrize("name", sorted(BODIES))
def test_every_truncation_is_rejected_or_decoded_cleanly(name: str) -> None:
    body = BODIES[name]
    outcomes = {outcome(body[:length]) for length in range(len(body))}
    assert "rejected" in outcomes  # most cuts leave a length or varint dangling


@pytest.mark.parametrize("name", sorted(BODIES))
def test_random_byte_changes_are_rejected_or_decoded_cleanly(name: str) -> None:
    rng = random.Random(f"protobuf-{name}")
    body = BODIES[name]
    outcomes = []
    for _ in range(2000):
        mutated = bytearray(body)
        for _ in range(rng.randint(1, 3)):
            mutated[rng.randrange(4, len(mutated))] = rng.randrange(256)
        outcomes.append(outcome(bytes(mutated)))
    assert "rejected" in outcomes
