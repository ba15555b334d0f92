"""Token buckets (client QPS/burst and the queue's overall limiter) with a fake clock."""

from __future__ import annotations

import pytest

from kubeadmpy.client import FakeClock, TokenBucket, default_controller_rate_limiter


def test_a_bucket_lends_burst_tokens_then_spaces_requests_by_one_over_qps() -> None:
    clock = FakeClock()
    bucket = TokenBucket(qps=5, burst=3, clock=clock)
    assert [bucket.reserve() for _ in range(3)] == [0, 0, 0]
    assert bucket.reserve() == pytest.approx(0.2)
    assert bucket.reserve() == pytest.approx(0.4)
    clock.advance(10)
    assert bucket.reserve() == 0, "tokens refill over time, up to the burst"


def test_zero_qps_means_unlimited() -> None:
    bucket = TokenBucket(qps=0, burst=1, clock=FakeClock())
    assert all(bucket.reserve() == 0 for _ in range(1000))


def test_default_controller_limiter_is_the_max_of_per_key_backoff_and_an_overall_bucket() -> None:
    limiter = default_controller_rate_limiter(FakeClock())
    first = [limiter.when(f"key-{i}") for i in range(100)]
    assert max(first) == pytest.approx(0.005), "100 different keys fit the 100 burst"
    assert limiter.when("key-100") == pytest.approx(0.1), "then 10 per second overall"
    assert limiter.num_requeues("key-1") == 1
    limiter.forget("key-1")
    assert limiter.num_requeues("key-1") == 0
