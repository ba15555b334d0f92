"""Benchmark: the full PKI + every kubeconfig, kubeadmpy vs the openssl CLI in the same run.

kubeadmpy side: `ensure_certs` (3 CAs, 7 leaves, the sa pair) + `ensure_kubeconfigs` (5 files,
each with a signed client certificate) into a fresh directory. Reference: the `openssl` CLI
producing the same keys and certificates (genpkey, req, x509 with the same extensions and SANs;
kubeconfig files themselves are not written on that side, only their client certificates).
Prints the median of several rounds for each and the ratio. Target: ECDSA-P256 under 0.3 s and
faster than openssl for the same algorithm.

    python benchmarks/bench_pki.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kubeadmpy.pki import (
    CERT_SPECS,
    KUBECONFIG_SPECS,
    PKISettings,
    certs,
    ensure_certs,
    ensure_kubeconfigs,
)


def pki_settings(algorithm: str) -> PKISettings:
    return PKISettings("node1", "192.168.1.10", encryption_algorithm=algorithm)


GENPKEY_ARGS = {
    "ECDSA-P256": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    "RSA-2048": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
}


def kubeadmpy_round(algorithm: str, work: Path) -> None:
    settings = pki_settings(algorithm)
    ensure_certs(settings, work / "pki")
    ensure_kubeconfigs(settings, work / "pki", work)


def _run(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _leaf_extensions(usages: str, sans: str) -> str:
    lines = [
        "[ext]",
        "basicConstraints = critical, CA:FALSE",
        "keyUsage = critical, digitalSignature",
        f"extendedKeyUsage = {usages}",
        "authorityKeyIdentifier = keyid",
    ]
    if sans:
        lines.append(f"subjectAltName = {sans}")
    return "\n".join(lines) + "\n"


def openssl_round(algorithm: str, work: Path) -> None:
    """The same set of keys and certificates made by openssl processes."""
    settings = pki_settings(algorithm)
    genpkey = GENPKEY_ARGS[algorithm]
    (work / "etcd").mkdir(parents=True)
    leaves: list[tuple[str, str, str, str, str]] = []  # base, ca base, subject, usages, sans
    for spec in CERT_SPECS:
        if spec.is_ca:
            _run("genpkey", *genpkey, "-out", f"{spec.key_file}", cwd=work)
            _run(
                "req", "-x509", "-new", "-key", spec.key_file, "-out", spec.cert_file,
                "-subj", f"/CN={spec.common_name(settings)}", "-days", "3650",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,digitalSignature,keyCertSign",
                "-addext", f"subjectAltName=DNS:{spec.common_name(settings)}",
                cwd=work,
            )  # fmt: skip
            continue
        request = spec.request(settings, [])
        sans = ",".join(
            [f"DNS:{name}" for name in request.alt_names.dns_names]
            + [f"IP:{ip}" for ip in request.alt_names.ips]
        )
        usages = ",".join(certs.usage_name(usage) for usage in spec.usages)
        subject = "".join(f"/O={o}" for o in spec.organizations)
        subject += f"/CN={request.common_name}"
        ca_base = next(s.base_name for s in CERT_SPECS if s.name == spec.ca_name)
        leaves.append((spec.base_name, ca_base, subject, usages, sans))
    for kubeconfig in KUBECONFIG_SPECS:
        subject = "".join(f"/O={o}" for o in kubeconfig.organizations)
        subject += f"/CN={kubeconfig.user(settings)}"
        leaves.append((f"{kubeconfig.name}-client", "ca", subject, "clientAuth", ""))
    for base, ca_base, subject, usages, sans in leaves:
        ext = work / f"{base.replace('/', '-')}.ext"
        ext.write_text(_leaf_extensions(usages, sans))
        _run("genpkey", *genpkey, "-out", f"{base}.key", cwd=work)
        _run(
            "req", "-new", "-key", f"{base}.key", "-subj", subject, "-out", f"{base}.csr", cwd=work
        )
        _run(
            "x509", "-req", "-in", f"{base}.csr", "-CA", f"{ca_base}.crt", "-CAkey",
            f"{ca_base}.key", "-set_serial", str(int(time.time_ns()) % 2**62), "-days", "365",
            "-extfile", str(ext), "-extensions", "ext", "-out", f"{base}.crt",
            cwd=work,
        )  # fmt: skip
    _run("genpkey", *genpkey, "-out", "sa.key", cwd=work)
    _run("pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=work)


def check_reference(algorithm: str) -> None:
    """The openssl side really makes a verifiable PKI (checked once, outside the timing)."""
    with tempfile.TemporaryDirectory(prefix="bench-pki-") as tmp:
        openssl_round(algorithm, Path(tmp))
        _run("verify", "-CAfile", "ca.crt", "apiserver.crt", "admin-client.crt", cwd=Path(tmp))
        _run("verify", "-CAfile", "etcd/ca.crt", "etcd/server.crt", cwd=Path(tmp))


def median_seconds(round_fn: Callable[[str, Path], None], algorithm: str, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="bench-pki-") as tmp:
            start = time.perf_counter()
            round_fn(algorithm, Path(tmp))
            samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"full PKI (3 CAs, 7 leaves, sa) + 5 kubeconfigs; median of {args.rounds} rounds")
    print(f"{'algorithm':<12} {'kubeadmpy':>12} {'openssl CLI':>12} {'speed-up':>10}")
    for algorithm in GENPKEY_ARGS:
        check_reference(algorithm)
        ours = median_seconds(kubeadmpy_round, algorithm, args.rounds)
        reference = median_seconds(openssl_round, algorithm, args.rounds)
        print(
            f"{algorithm:<12} {ours * 1000:>10.1f}ms {reference * 1000:>10.1f}ms "
            f"{reference / ours:>9.1f}x"
        )


if __name__ == "__main__":
    main()
