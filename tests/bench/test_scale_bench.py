"""The growth bench's arithmetic: rounds pooled into one result, and CPU per request."""

import pytest

from bench.http_load import Result
from bench.scale import cpu_ms_per_request, pooled


def result(latencies, duration, server_cpu, db_cpu=0.5):
    return Result(
        scenario="swipe",
        concurrency=4,
        latencies=latencies,
        duration=duration,
        client_cpu=0.2,
        server_cpu=server_cpu,
        db_cpu=db_cpu,
        machine_busy=0.9,
    )


def test_rounds_pool_every_latency_and_weigh_cpu_rates_by_duration():
    one = result([0.01] * 100, duration=4.0, server_cpu=1.0)  # 25 req/s
    two = result([0.03] * 300, duration=2.0, server_cpu=1.6)  # 150 req/s
    both = pooled([one, two])
    assert both.requests == 400 and both.duration == 6.0
    assert both.rps == pytest.approx(400 / 6)
    assert both.server_cpu == pytest.approx((1.0 * 4 + 1.6 * 2) / 6)
    assert both.percentile_ms(0.5) == pytest.approx(30.0)  # 300 of the 400 took 30 ms


def test_cpu_per_request_is_the_cpu_rate_over_the_request_rate():
    web, db = cpu_ms_per_request(result([0.01] * 200, duration=2.0, server_cpu=0.8, db_cpu=0.2))
    assert web == pytest.approx(8.0) and db == pytest.approx(2.0)  # 100 req/s
