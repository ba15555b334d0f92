"""Decoding of Kubernetes protobuf request bodies (kubectl 1.32+ writes protobuf, no JSON).

`decode_k8s_protobuf(body)` turns an ``application/vnd.kubernetes.protobuf`` body into the JSON
object an API server would have received from a JSON client; `ProtobufDecodeError` (a
`UserInputError`) says what is wrong and where. The field tables in `tables.py` are generated from
upstream data by `gen_tables.py`; `envelope`, `decoder`, `schema` and `wire` are the layers.
"""

from kubeadmpy.machinery.protobuf.decoder import decode_message
from kubeadmpy.machinery.protobuf.envelope import MAGIC, PROTOBUF_CONTENT_TYPE, decode_k8s_protobuf
from kubeadmpy.machinery.protobuf.wire import ProtobufDecodeError

__all__ = [
    "MAGIC",
    "PROTOBUF_CONTENT_TYPE",
    "ProtobufDecodeError",
    "decode_k8s_protobuf",
    "decode_message",
]
