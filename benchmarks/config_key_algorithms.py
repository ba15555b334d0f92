"""Key generation cost of each `encryptionAlgorithm`, relative to kubeadm's default RSA-2048.

Backs the documented choice of ECDSA-P256 as kubeadmpy's default (kubeadmpy/config/defaults.py):
init creates about a dozen keys (CAs, leaf certificates, kubeconfig users, sa.key).
Run: python benchmarks/config_key_algorithms.py [rounds]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from kubeadmpy.config.validation import ENCRYPTION_ALGORITHMS

GENERATORS: dict[str, Callable[[], object]] = {
    "RSA-2048": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "RSA-3072": lambda: rsa.generate_private_key(public_exponent=65537, key_size=3072),
    "RSA-4096": lambda: rsa.generate_private_key(public_exponent=65537, key_size=4096),
    "ECDSA-P256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "ECDSA-P384": lambda: ec.generate_private_key(ec.SECP384R1()),
}
KEYS_PER_INIT = 12


def median_seconds(generate: Callable[[], object], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        generate()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    assert set(GENERATORS) == set(ENCRYPTION_ALGORITHMS)
    reference = median_seconds(GENERATORS["RSA-2048"], rounds)
    print(f"{'algorithm':<12}{'median ms/key':>15}{'keys/init ms':>14}{'vs RSA-2048':>13}")
    for name, generate in GENERATORS.items():
        seconds = reference if name == "RSA-2048" else median_seconds(generate, rounds)
        print(f"{name:<12}{seconds * 1e3:>15.2f}{seconds * KEYS_PER_INIT * 1e3:>14.1f}"
              f"{reference / seconds:>12.1f}x")


if __name__ == "__main__":
    main()
