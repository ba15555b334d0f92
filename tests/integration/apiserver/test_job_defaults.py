"""Job defaults as upstream: a Job with only parallelism is a work queue (no completions)."""

from __future__ import annotations

import json

import pytest
from apiserver_harness import Cluster

JOB = """
apiVersion: batch/v1
kind: Job
metadata: {{name: {name}, namespace: default}}
spec:
  {spec}
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: c, image: busybox}}]
"""


@pytest.mark.parametrize(
    ("name", "spec", "parallelism", "completions"),
    [
        ("plain", "backoffLimit: 6", 1, 1),
        ("work-queue", "parallelism: 3", 3, None),
        ("fixed", "completions: 4", 1, 4),
    ],
    ids=["neither set gives one of each", "parallelism alone leaves completions unset",
         "completions alone gives parallelism 1"],
)
def test_job_defaults_match_upstream(cluster: Cluster, name: str, spec: str, parallelism: int,
                                     completions: int | None) -> None:
    cluster.kubectl("1.33", "create", "-f", "-", stdin=JOB.format(name=f"job-{name}", spec=spec))
    try:
        got = json.loads(cluster.kubectl("1.33", "get", "job", f"job-{name}", "-o", "json").stdout)
        assert got["spec"]["parallelism"] == parallelism
        assert got["spec"].get("completions") == completions
    finally:
        cluster.kubectl("1.33", "delete", "job", f"job-{name}", "--wait=false", check=False)
