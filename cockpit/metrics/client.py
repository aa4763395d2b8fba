"""A Prometheus HTTP API client: instant and range queries, readiness. It decides nothing.

Errors come in two kinds so callers can tell "no answer" from "a wrong question":
:class:`PrometheusUnreachable` (connection refused, timeout, TLS, a 5xx) and
:class:`PrometheusQueryError` (Prometheus answered and refused the query: bad PromQL, 4xx).
Sample values keep Prometheus' NaN and infinities as floats; judging them is not done here.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from cockpit.errors import CockpitError, ConnectionProblem

DEFAULT_TIMEOUT = 5.0


class PrometheusUnreachable(ConnectionProblem):
    """Prometheus did not answer (or answered with a server error)."""


class PrometheusQueryError(CockpitError):
    """Prometheus refused the query (``errorType`` and ``error`` in the message)."""


@dataclass(frozen=True)
class PrometheusSettings:
    """Where Prometheus is and how to authenticate: a bearer token (or a file holding one, read
    at each request so rotated tokens work) and a CA bundle for HTTPS."""

    url: str
    bearer_token: str | None = None
    token_file: str | None = None
    ca_file: str | None = None
    timeout: float = DEFAULT_TIMEOUT

    def token(self) -> str | None:
        """The bearer token to send, if any."""
        if self.token_file:
            try:
                return Path(self.token_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise PrometheusUnreachable(f"cannot read the Prometheus token file {self.token_file}: {exc}") from None
        return self.bearer_token


@dataclass(frozen=True)
class Sample:
    """One series of an instant query: its labels and value."""

    labels: dict[str, str]
    value: float
    at: float


@dataclass(frozen=True)
class Series:
    """One series of a range query: its labels and (time, value) points."""

    labels: dict[str, str]
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class InstantResult:
    """An instant query's answer (``scalar`` results become one sample without labels)."""

    result_type: str
    samples: tuple[Sample, ...]

    @property
    def values(self) -> tuple[float, ...]:
        """The sample values in the order Prometheus gave them."""
        return tuple(s.value for s in self.samples)


class PrometheusClient:
    """Async client for one Prometheus (use ``async with`` or call ``close``)."""

    def __init__(self, settings: PrometheusSettings) -> None:
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> PrometheusClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def query(self, promql: str, at: float | None = None) -> InstantResult:
        """``/api/v1/query``: evaluate ``promql`` now (or at ``at``, seconds since the epoch)."""
        params = {"query": promql, **({"time": f"{at:.3f}"} if at is not None else {})}
        data = await self._get("/api/v1/query", params)
        return _instant(data)

    async def query_range(self, promql: str, start: float, end: float, step: float) -> tuple[Series, ...]:
        """``/api/v1/query_range`` from ``start`` to ``end`` every ``step`` seconds."""
        params = {"query": promql, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        data = await self._get("/api/v1/query_range", params)
        return tuple(Series(dict(s.get("metric") or {}), tuple((float(t), float(v)) for t, v in s.get("values") or ()))
                     for s in data.get("result") or ())

    async def check_syntax(self, promql: str) -> None:
        """``/api/v1/format_query``: raises PrometheusQueryError when ``promql`` does not parse."""
        await self._get("/api/v1/format_query", {"query": promql})

    async def ready(self) -> bool:
        """``/-/ready`` answers 200."""
        try:
            async with self._http().get(self._url("/-/ready"), headers=self._headers()) as resp:
                return resp.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
            return False

    def _url(self, path: str) -> str:
        return self.settings.url.rstrip("/") + path

    def _headers(self) -> dict[str, str]:
        token = self.settings.token()
        return {"Authorization": f"Bearer {token}"} if token else {}

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=self.settings.timeout)
            connector = aiohttp.TCPConnector(ssl=_ssl_context(self.settings.ca_file))
            self._session = aiohttp.ClientSession(timeout=timeout, connector=connector)
        return self._session

    async def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        url = self._url(path)
        try:
            async with self._http().get(url, params=params, headers=self._headers()) as resp:
                body = await _json_body(resp)
                return _unwrap(resp.status, body, url)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise PrometheusUnreachable(f"Prometheus at {self.settings.url} did not answer: "
                                        f"{type(exc).__name__} {exc}".strip()) from None


def _ssl_context(ca_file: str | None) -> ssl.SSLContext | bool:
    if not ca_file:
        return True  # the system's trust store for https; ignored for http
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise PrometheusUnreachable(f"cannot use the Prometheus CA file {ca_file}: {exc}") from None


async def _json_body(resp: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        body = await resp.json(content_type=None)
    except ValueError:
        body = None
    return body if isinstance(body, dict) else {}


def _unwrap(status: int, body: dict[str, Any], url: str) -> dict[str, Any]:
    if body.get("status") == "success":
        return body.get("data") or {}
    message = f"{body.get('errorType', 'error')}: {body.get('error', f'HTTP {status}')}"
    if status >= 500 and body.get("errorType") not in ("bad_data", "execution"):
        raise PrometheusUnreachable(f"Prometheus at {url} failed: {message}")
    raise PrometheusQueryError(f"Prometheus refused the query: {message}")


def _instant(data: dict[str, Any]) -> InstantResult:
    kind, result = data.get("resultType", ""), data.get("result")
    if kind == "scalar" and isinstance(result, list):
        return InstantResult(kind, (Sample({}, float(result[1]), float(result[0])),))
    samples = []
    for series in result or ():
        if "value" in series:
            at, value = series["value"]
        elif series.get("values"):  # a range vector: the newest point of each series
            at, value = series["values"][-1]
        else:
            continue
        samples.append(Sample(dict(series.get("metric") or {}), float(value), float(at)))
    return InstantResult(kind, tuple(samples))
