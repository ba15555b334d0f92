"""Benchmark: decoding kubectl's protobuf write bodies, against json.loads of the same object.

The reference is what the server pays for the same request when a client sends JSON (kubectl
1.31 and older): `json.loads` of the equivalent JSON text, measured in the same run. Figures are
microseconds per body and the ratio protobuf/JSON; the bodies were captured from kubectl 1.33.1
(`kubectl create deployment web --image=nginx:1.25 --replicas=3 --port=8080`,
`kubectl create configmap app --from-literal=a=1 --from-literal=b=2 --from-literal=c=3`).

Run: python benchmarks/protobuf_decode.py
"""

from __future__ import annotations

import base64
import json
import timeit

from kubeadmpy.machinery.protobuf import decode_k8s_protobuf

BODIES = {
    "deployment": base64.b64decode(
        "azhzAAoVCgdhcHBzL3YxEgpEZXBsb3ltZW50Er4BCh8KA3dlYhIAGgAiACoAMgA4AEIAWgoKA2FwcBIDd2ViEowB"
        "CAMSDAoKCgNhcHASA3dlYhpyChwKABIAGgAiACoAMgA4AEIAWgoKA2FwcBIDd2ViElISNAoFbmdpbngSCm5naW54"
        "OjEuMjUqADILCgAQABiQPyIAKgBCAGoAcgCAAQCIAQCQAQCiAQAaADIAQgBKAFIAWABgAGgAggEAigEAmgEAwgEA"
        "IgIKACgAOAAaDAgAEAAYACAAKAA4ABoAIgA="
    ),
    "configmap": base64.b64decode(
        "azhzAAoPCgJ2MRIJQ29uZmlnTWFwEi0KEwoDYXBwEgAaACIAKgAyADgAQgASBgoBYRIBMRIGCgFiEgEyEgYKAWMS"
        "ATMaACIA"
    ),
}


def per_call_us(function: object, number: int) -> float:
    timer = timeit.Timer(function)  # type: ignore[arg-type]
    best = min(timer.repeat(repeat=5, number=number))
    return best / number * 1e6


def main() -> None:
    print(f"{'body':<12}{'bytes':>7}{'protobuf µs':>14}{'json.loads µs':>16}{'ratio':>8}")
    for name, body in BODIES.items():
        text = json.dumps(decode_k8s_protobuf(body))
        proto = per_call_us(lambda body=body: decode_k8s_protobuf(body), 2000)
        reference = per_call_us(lambda text=text: json.loads(text), 2000)
        print(f"{name:<12}{len(body):>7}{proto:>14.1f}{reference:>16.1f}{proto / reference:>8.1f}")


if __name__ == "__main__":
    main()
