"""A tiny HTTPS client for one simulator, for tests that speak the REST API directly."""

from __future__ import annotations

import json

import requests


class Api:
    """Tiny HTTPS client for one simulator."""

    def __init__(self, sim):
        self.sim = sim
        self.session = requests.Session()
        self.session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
        self.session.verify = sim.ca_file
        self.session.headers["Authorization"] = f"Bearer {sim.token}"

    def __call__(self, method: str, path: str, body=None, ctype: str = "application/json", headers=None,
                 **params) -> requests.Response:
        data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
        hdrs = {"Content-Type": ctype, **(headers or {})}
        return self.session.request(method, self.sim.url + path, data=data, headers=hdrs, params=params, timeout=10)

    def get(self, path: str, **params) -> dict:
        r = self("GET", path, **params)
        assert r.status_code == 200, r.text
        return r.json()
