"""The schema-driven decoder: every value kind, Go's JSON rules for zero values, and errors.

Bodies are built by hand with the field numbers of the real messages, so each test also pins the
generated tables to upstream facts (e.g. DeploymentSpec.replicas is field 1, a *int32).
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from protobuf_encoding import (
    double,
    fixed32,
    key,
    length_delimited,
    map_entry,
    message,
    nested,
    raw_varint,
    string,
    varint,
)

from kubeadmpy.machinery.protobuf import ProtobufDecodeError, decode_message
from kubeadmpy.machinery.protobuf.decoder import decode_scalar, go_duration_string
from kubeadmpy.machinery.protobuf.wire import WireField, WireType

CORE = "k8s.io.api.core.v1."
APPS = "k8s.io.api.apps.v1."
META = "k8s.io.apimachinery.pkg.apis.meta.v1."


def decode(name: str, *fields: bytes) -> Any:
    return decode_message(name if "." in name else CORE + name, message(*fields))


# --- scalars -------------------------------------------------------------------------------------


def test_strings_decode_as_utf8_text() -> None:
    assert decode("ConfigMap", nested(1, string(1, "grüße"))) == {
        "metadata": {"name": "grüße", "creationTimestamp": None}
    }


def test_int32_fields_keep_their_sign() -> None:
    spec = decode(APPS + "DeploymentSpec", varint(5, -3), nested(3))
    assert spec["minReadySeconds"] == -3


def test_int64_fields_keep_values_beyond_32_bits() -> None:
    pod_spec = decode("PodSpec", varint(4, 1 << 40), varint(5, -7))
    assert pod_spec["terminationGracePeriodSeconds"] == 1 << 40
    assert pod_spec["activeDeadlineSeconds"] == -7


def test_bools_are_true_for_any_nonzero_varint() -> None:
    spec = decode(APPS + "DeploymentSpec", varint(7, 1), nested(3))
    assert spec["paused"] is True
    assert decode("ServiceAccount", varint(4, 2))["automountServiceAccountToken"] is True


def test_bytes_become_standard_base64() -> None:
    csr = decode("k8s.io.api.certificates.v1.CertificateSigningRequestSpec",
                 length_delimited(1, b"\x00\xff-PEM"))
    assert csr["request"] == base64.b64encode(b"\x00\xff-PEM").decode()


@pytest.mark.parametrize(
    ("type_", "wire", "expected"),
    [
        ("uint32", WireField(1, WireType.VARINT, 0x1_0000_0001), 1),
        ("uint64", WireField(1, WireType.VARINT, (1 << 64) - 1), (1 << 64) - 1),
        ("sint32", WireField(1, WireType.VARINT, 3), -2),
        ("sint64", WireField(1, WireType.VARINT, 4), 2),
        ("fixed32", WireField(1, WireType.FIXED32, b"\x01\x00\x00\x00"), 1),
        ("sfixed64", WireField(1, WireType.FIXED64, b"\xff" * 8), -1),
        ("double", WireField(1, WireType.FIXED64, double(1, 2.5)[1:]), 2.5),
        ("float", WireField(1, WireType.FIXED32, fixed32(1, b"\x00\x00\xc0\x3f")[1:]), 1.5),
        ("string", WireField(1, WireType.LENGTH_DELIMITED, b"\xffok"), "\ufffdok"),
    ],
    ids=["uint32 drops high bits", "uint64 max", "sint32 zigzag", "sint64 zigzag",
         "fixed32 little endian", "sfixed64 negative", "double", "float",
         "invalid UTF-8 becomes U+FFFD like Go's encoding/json"],
)
def test_other_scalar_kinds_convert_like_protobuf_says(type_: str, wire: WireField,
                                                       expected: object) -> None:
    assert decode_scalar(type_, wire, "") == expected


def test_a_nan_double_is_an_error_since_json_cannot_carry_it() -> None:
    with pytest.raises(ProtobufDecodeError, match="cannot be represented"):
        decode_scalar("double", WireField(1, WireType.FIXED64, double(1, float("nan"))[1:]), "x")


# --- zero values: omitempty, pointers ----------------------------------------------------------


def test_zero_values_of_omitempty_fields_are_dropped() -> None:
    spec = decode(APPS + "DeploymentSpec", varint(5, 0), varint(7, 0), nested(3))
    assert "minReadySeconds" not in spec
    assert "paused" not in spec


def test_pointer_fields_keep_an_explicit_zero() -> None:
    spec = decode(APPS + "DeploymentSpec", varint(1, 0), varint(6, 0), nested(3))
    assert spec["replicas"] == 0
    assert spec["revisionHistoryLimit"] == 0
    assert decode("ServiceAccount", varint(4, 0))["automountServiceAccountToken"] is False


def test_absent_pointer_fields_stay_absent() -> None:
    spec = decode(APPS + "DeploymentSpec", nested(3))
    assert "replicas" not in spec
    assert "selector" not in spec


def test_fields_without_omitempty_print_their_zero_value() -> None:
    assert decode("Container") == {"name": "", "resources": {}}
    assert decode("ContainerPort", varint(3, 0)) == {"containerPort": 0}


def test_value_structs_print_even_when_empty_and_pointer_structs_only_when_sent() -> None:
    deployment = decode(APPS + "Deployment", nested(1, string(1, "web")))
    assert deployment["spec"]["strategy"] == {}
    assert deployment["status"] == {}
    assert "securityContext" not in decode("PodSpec")
    assert decode("PodSpec", nested(14))["securityContext"] == {}


def test_the_last_occurrence_of_a_scalar_wins() -> None:
    assert decode("ConfigMap", nested(1, string(1, "a"), string(1, "b")))["metadata"]["name"] == "b"


def test_repeated_occurrences_of_a_message_field_merge() -> None:
    meta = decode("ConfigMap", nested(1, string(1, "a")), nested(1, string(3, "ns")))["metadata"]
    assert (meta["name"], meta["namespace"]) == ("a", "ns")


# --- repeated, maps, nesting, inlining --------------------------------------------------------


def test_repeated_strings_keep_their_order() -> None:
    container = decode("Container", string(1, "c"), string(3, "sh"), string(3, "-c"),
                       string(4, "echo hi"))
    assert container["command"] == ["sh", "-c"]
    assert container["args"] == ["echo hi"]


def test_repeated_integers_are_accepted_packed_and_unpacked() -> None:
    packed = length_delimited(4, raw_varint(1000) + raw_varint(2000))
    security = decode("PodSecurityContext", packed, varint(4, 3000))
    assert security["supplementalGroups"] == [1000, 2000, 3000]


def test_repeated_messages_decode_each_item() -> None:
    pod_spec = decode("PodSpec", nested(2, string(1, "a"), string(2, "img-a")),
                      nested(2, string(1, "b")))
    assert [c["name"] for c in pod_spec["containers"]] == ["a", "b"]
    assert pod_spec["containers"][0]["image"] == "img-a"


def test_empty_lists_are_dropped_or_null_like_go_nil_slices() -> None:
    assert "volumes" not in decode("PodSpec")  # omitempty
    assert decode("PodSpec")["containers"] is None  # no omitempty: Go prints null


def test_string_maps_decode_to_objects() -> None:
    meta = decode(META + "ObjectMeta", map_entry(11, "app", "web"), map_entry(11, "tier", "fe"),
                  map_entry(12, "note", ""))
    assert meta["labels"] == {"app": "web", "tier": "fe"}
    assert meta["annotations"] == {"note": ""}


def test_map_keys_come_out_sorted_like_go_prints_them() -> None:
    meta = decode(META + "ObjectMeta", map_entry(11, "zone", "b"), map_entry(11, "app", "a"))
    assert list(meta["labels"]) == ["app", "zone"]


def test_a_repeated_map_key_keeps_the_last_value() -> None:
    meta = decode(META + "ObjectMeta", map_entry(11, "app", "a"), map_entry(11, "app", "b"))
    assert meta["labels"] == {"app": "b"}


def test_bytes_maps_decode_to_base64_values() -> None:
    secret = decode("Secret", map_entry(2, "key", b"\x00\x01"), string(3, "Opaque"))
    assert secret["data"] == {"key": "AAE="}
    assert secret["type"] == "Opaque"


def test_map_entries_with_message_values_decode_the_message() -> None:
    resources = decode("ResourceRequirements",
                       map_entry(1, "cpu", string(1, "500m")),
                       map_entry(2, "memory", string(1, "1Gi")))
    assert resources == {"limits": {"cpu": "500m"}, "requests": {"memory": "1Gi"}}


def test_list_wrapper_messages_print_as_plain_lists() -> None:
    review = decode("k8s.io.api.authorization.v1.SubjectAccessReviewSpec",
                    map_entry(5, "groups", string(1, "a") + string(1, "b")))
    assert review["extra"] == {"groups": ["a", "b"]}


def test_inline_structs_merge_into_their_parent() -> None:
    volume = decode("Volume", string(1, "data"), nested(2, nested(1, string(1, "/srv"))))
    assert volume == {"name": "data", "hostPath": {"path": "/srv"}}
    probe = decode("Probe", nested(1, nested(2, string(1, "/healthz"), nested(2, varint(2, 80)))),
                   varint(4, 10))
    assert probe == {"httpGet": {"path": "/healthz", "port": 80}, "periodSeconds": 10}
    selector = decode("ConfigMapKeySelector", nested(1, string(1, "cm")), string(2, "k"))
    assert selector == {"name": "cm", "key": "k"}


def test_deep_nesting_reports_the_json_path_of_the_bad_field() -> None:
    body = nested(2, nested(3, nested(2, nested(2, string(1, "c"), varint(2, 1)))))
    with pytest.raises(ProtobufDecodeError) as info:
        decode(APPS + "Deployment", body)
    assert info.value.field_path == "spec.template.spec.containers[0].image"
    assert "wire type 0" in info.value.message


# --- types with their own JSON form -------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (message(varint(1, 0), varint(2, 8080)), 8080),
        (message(varint(2, 0)), 0),
        (message(varint(1, 1), string(3, "http")), "http"),
        (message(varint(1, 1)), ""),
    ],
    ids=["an int", "int zero", "a named port", "an empty string"],
)
def test_int_or_string_prints_the_variant_its_type_selects(fields: bytes,
                                                           expected: int | str) -> None:
    port = decode("ServicePort", varint(3, 80), length_delimited(4, fields))
    assert port["targetPort"] == expected


def test_int_or_string_with_an_unknown_type_is_an_error() -> None:
    with pytest.raises(ProtobufDecodeError, match="IntOrString type 2"):
        decode("ServicePort", nested(4, varint(1, 2)))


def test_absent_pointer_int_or_string_stays_absent() -> None:
    assert decode(APPS + "RollingUpdateDeployment", nested(2, varint(1, 1), string(3, "25%"))) == {
        "maxSurge": "25%"
    }


def test_quantities_print_their_string_and_reject_garbage() -> None:
    assert decode("ResourceRequirements", map_entry(1, "cpu", b""))["limits"] == {"cpu": "0"}
    with pytest.raises(ProtobufDecodeError, match="quantity '12 apples'") as info:
        decode("ResourceRequirements", map_entry(1, "cpu", string(1, "12 apples")))
    assert info.value.field_path == "limits[cpu]"


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        (b"", None),
        (message(varint(1, 0)), "1970-01-01T00:00:00Z"),
        (message(varint(1, 1_700_000_000), varint(2, 999_999_999)), "2023-11-14T22:13:20Z"),
        (message(varint(1, -62135596800)), "0001-01-01T00:00:00Z"),
    ],
    ids=["an empty message is Go's zero time: null", "seconds zero is the epoch",
         "fractions are cut to whole seconds", "year one keeps four digits"],
)
def test_times_print_as_rfc3339_in_utc(timestamp: bytes, expected: str | None) -> None:
    meta = decode(META + "ObjectMeta", length_delimited(8, timestamp))
    assert meta["creationTimestamp"] == expected


def test_a_pointer_time_that_was_not_sent_stays_absent() -> None:
    assert "deletionTimestamp" not in decode(META + "ObjectMeta")


def test_micro_times_keep_six_fraction_digits() -> None:
    lease = decode("k8s.io.api.coordination.v1.LeaseSpec",
                   nested(4, varint(1, 1_700_000_000), varint(2, 123_456_789)))
    assert lease == {"renewTime": "2023-11-14T22:13:20.123456Z"}


def test_a_time_beyond_year_9999_is_an_error() -> None:
    with pytest.raises(ProtobufDecodeError, match="outside years"):
        decode(META + "ObjectMeta", nested(8, varint(1, 1 << 40)))


@pytest.mark.parametrize(
    ("nanoseconds", "text"),
    [
        (0, "0s"), (1, "1ns"), (1_500, "1.5µs"), (2_000_000, "2ms"), (1_500_000_000, "1.5s"),
        (90 * 10**9, "1m30s"), (3600 * 10**9, "1h0m0s"), (-(3723 * 10**9 + 5 * 10**8), "-1h2m3.5s"),
    ],
)
def test_durations_print_like_go_time_duration(nanoseconds: int, text: str) -> None:
    assert go_duration_string(nanoseconds) == text
    assert decode_message(META + "Duration", varint(1, nanoseconds)) == text


def test_raw_extensions_embed_their_json() -> None:
    revision = decode(APPS + "ControllerRevision", nested(2, length_delimited(1, b'{"a": [1]}')),
                      varint(3, 4))
    assert revision["data"] == {"a": [1]}
    assert revision["revision"] == 4


def test_raw_extensions_holding_protobuf_decode_the_embedded_object() -> None:
    from protobuf_encoding import envelope

    inner = envelope("v1", "ConfigMap", nested(1, string(1, "inner")))
    revision = decode(APPS + "ControllerRevision", nested(2, length_delimited(1, inner)))
    assert revision["data"]["metadata"]["name"] == "inner"


def test_managed_fields_keep_their_fields_v1_json() -> None:
    entry = decode(META + "ManagedFieldsEntry", string(1, "kubectl"), string(2, "Apply"),
                   nested(7, length_delimited(1, b'{"f:data":{}}')), string(6, "FieldsV1"))
    assert entry == {"manager": "kubectl", "operation": "Apply", "fieldsType": "FieldsV1",
                     "fieldsV1": {"f:data": {}}}


# --- errors -----------------------------------------------------------------------------------


def test_an_unknown_field_number_names_the_message_and_number() -> None:
    with pytest.raises(ProtobufDecodeError) as info:
        decode("ConfigMap", nested(1, string(99, "x")))
    assert "unknown field number 99" in info.value.message
    assert "message ObjectMeta" in info.value.message
    assert info.value.field_path == "metadata"


def test_a_wrong_wire_type_names_the_field() -> None:
    with pytest.raises(ProtobufDecodeError) as info:
        decode("ConfigMap", varint(1, 3))
    assert "has wire type 0, expected 2" in info.value.message


def test_a_truncated_nested_message_is_reported_where_it_breaks() -> None:
    body = nested(1, key(1, 2) + raw_varint(40) + b"short")
    with pytest.raises(ProtobufDecodeError, match="declares 40 bytes") as info:
        decode("ConfigMap", body)
    assert info.value.field_path == "metadata"


def test_absurdly_nested_embedded_json_is_rejected_not_crashing() -> None:
    raw = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(ProtobufDecodeError, match="neither JSON nor protobuf"):
        decode(APPS + "ControllerRevision", nested(2, length_delimited(1, raw)))
