from __future__ import annotations

from datetime import timedelta

import pytest

from kubeadmpy.config import v1beta4
from kubeadmpy.config.codec import FieldProblem, decode, encode


def decode_with_problems(cls: type, data: object) -> tuple[object, list[FieldProblem]]:
    problems: list[FieldProblem] = []
    return decode(cls, data, problems), problems


def test_camel_case_names_map_to_snake_case_attributes() -> None:
    cluster, problems = decode_with_problems(v1beta4.ClusterConfiguration, {
        "apiServer": {"certSANs": ["cp.example.com"], "extraArgs": [{"name": "v", "value": "2"}]},
        "networking": {"podSubnet": "10.244.0.0/16"},
        "caCertificateValidityPeriod": "87600h",
        "etcd": {"local": {"serverCertSANs": ["etcd.local"]}},
    })
    assert problems == []
    assert isinstance(cluster, v1beta4.ClusterConfiguration)
    assert cluster.api_server.cert_sans == ["cp.example.com"]
    assert cluster.api_server.extra_args == [v1beta4.Arg(name="v", value="2")]
    assert cluster.networking.pod_subnet == "10.244.0.0/16"
    assert cluster.ca_certificate_validity_period == timedelta(hours=87600)
    assert cluster.etcd.local is not None
    assert cluster.etcd.local.server_cert_sans == ["etcd.local"]


@pytest.mark.parametrize(
    ("yaml_value", "expected"),
    [(None, None), ([], []), ([{"key": "k", "effect": "NoSchedule"}],
                             [v1beta4.Taint(key="k", effect="NoSchedule")])],
    ids=["null taints mean use the default", "empty taints mean none", "listed taints"],
)
def test_taints_keep_null_apart_from_empty(yaml_value: object, expected: object) -> None:
    registration, problems = decode_with_problems(v1beta4.NodeRegistrationOptions,
                                                  {"taints": yaml_value})
    assert problems == []
    assert isinstance(registration, v1beta4.NodeRegistrationOptions)
    assert registration.taints == expected
    assert encode(registration)["taints"] == yaml_value  # written back exactly, even null


def test_unknown_field_names_its_path_and_the_closest_known_name() -> None:
    _, problems = decode_with_problems(v1beta4.ClusterConfiguration,
                                       {"networking": {"podSubnett": "10.244.0.0/16"}})
    assert problems == [FieldProblem("networking.podSubnett", "unknown field",
                                     'Did you mean "podSubnet"?')]


def test_unknown_field_in_wrong_case_suggests_the_right_case() -> None:
    _, problems = decode_with_problems(v1beta4.APIServer, {"certsans": []})
    assert problems[0].fix == 'Did you mean "certSANs"?'


WRONG_TYPES = [
    ({"bindPort": "6443"}, v1beta4.APIEndpoint, "bindPort", "expected an integer, got string"),
    ({"bindPort": True}, v1beta4.APIEndpoint, "bindPort", "expected an integer, got boolean"),
    ({"advertiseAddress": 10}, v1beta4.APIEndpoint, "advertiseAddress", "expected a string"),
    ({"skipPhases": "preflight"}, v1beta4.InitConfiguration, "skipPhases", "expected a list"),
    ({"dryRun": "yes please"}, v1beta4.InitConfiguration, "dryRun", "expected true or false"),
    ({"nodeRegistration": ["x"]}, v1beta4.InitConfiguration, "nodeRegistration",
     "expected a mapping"),
    ({"featureGates": {"A": "on"}}, v1beta4.ClusterConfiguration, "featureGates.A",
     "expected true or false"),
    ({"timeouts": {"discovery": 5}}, v1beta4.JoinConfiguration, "timeouts.discovery",
     "expected a duration string"),
]


@pytest.mark.parametrize(("data", "cls", "path", "problem"), WRONG_TYPES,
                         ids=[f"{p} {m}" for _, _, p, m in WRONG_TYPES])
def test_wrong_type_names_the_path_and_the_expected_type(
    data: dict[str, object], cls: type, path: str, problem: str
) -> None:
    _, problems = decode_with_problems(cls, data)
    assert [p.path for p in problems] == [path]
    assert problems[0].problem.startswith(problem)


def test_every_problem_in_a_document_is_reported_not_only_the_first() -> None:
    _, problems = decode_with_problems(v1beta4.InitConfiguration, {
        "bogus": 1, "localAPIEndpoint": {"bindPort": "x"}, "bootstrapTokens": [{"ttl": "1y"}]})
    assert sorted(p.path for p in problems) == [
        "bogus", "bootstrapTokens[0].ttl", "localAPIEndpoint.bindPort"]


def test_encoding_omits_empty_fields_but_keeps_structs_and_set_pointers() -> None:
    cluster = v1beta4.ClusterConfiguration(kubernetes_version="v1.33.1")
    assert encode(cluster) == {
        "etcd": {}, "networking": {}, "kubernetesVersion": "v1.33.1", "apiServer": {},
        "controllerManager": {}, "scheduler": {}, "dns": {}, "proxy": {}}
    registration = v1beta4.NodeRegistrationOptions(image_pull_serial=False, taints=[])
    assert encode(registration) == {"taints": [], "imagePullSerial": False}


def test_fields_without_omitempty_upstream_are_written_even_when_empty() -> None:
    assert encode(v1beta4.Arg(name="profiling")) == {"name": "profiling", "value": ""}
    assert encode(v1beta4.ExternalEtcd(endpoints=["http://10.0.0.5:2379"])) == {
        "endpoints": ["http://10.0.0.5:2379"], "caFile": "", "certFile": "", "keyFile": ""}
