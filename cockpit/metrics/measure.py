"""One instant query as a :class:`~cockpit.domain.analysis.QueryOutcome`: values, or why none.

The client raises; an analysis needs "no answer" as a value it can judge (inconclusive), so
the two Prometheus error kinds are caught here and nothing else is decided.
"""

from __future__ import annotations

from cockpit.domain.analysis import QueryOutcome
from cockpit.metrics.client import PrometheusClient, PrometheusQueryError, PrometheusUnreachable


async def instant_outcome(client: PrometheusClient, promql: str) -> QueryOutcome:
    """The values of ``promql`` now, or the reason there are none."""
    try:
        result = await client.query(promql)
    except (PrometheusUnreachable, PrometheusQueryError) as exc:
        return QueryOutcome.failed(str(exc))
    return QueryOutcome(result.values)
