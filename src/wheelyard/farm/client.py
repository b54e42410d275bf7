"""A small client of the farm's HTTP API (standard library only), for ``wheelyard farm
submit/status/cancel`` and scripts."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wheelyard.errors import FarmError, FarmRequestError

FINISHED = frozenset({"published", "failed", "cancelled"})
CAMPAIGN_SETTLED = frozenset({"done", "stalled", "failed", "cancelled"})


@dataclass(frozen=True)
class FarmClient:
    url: str
    token: str | None = None
    timeout: float = 300.0

    def __post_init__(self) -> None:
        parts = urllib.parse.urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FarmRequestError(
                f"{self.url!r} is not a farm URL",
                hint="http://HOST:PORT, as `wheelyard farm up` prints it",
            )

    def _request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        content_type: str = "application/json",
        query: Mapping[str, Any] | None = None,
    ) -> Any:
        url = self.url.rstrip("/") + path
        if query:
            url += "?" + urllib.parse.urlencode(
                [
                    (k, v)
                    for k, vs in query.items()
                    for v in (vs if isinstance(vs, list) else [vs])
                    if v is not None
                ]
            )
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read()).get("detail")
            except (json.JSONDecodeError, AttributeError):
                detail = exc.reason
            error = FarmRequestError if 400 <= exc.code < 500 else FarmError
            raise error(f"{method} {path}: HTTP {exc.code}: {detail}") from exc
        except urllib.error.URLError as exc:
            raise FarmError(
                f"cannot reach the farm at {self.url}: {exc.reason}",
                hint="is `wheelyard farm up` running? pass --url",
            ) from exc

    def submit(self, body: Mapping[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._request(
            "POST", "/api/builds", body=json.dumps(body).encode()
        )
        return dict(result["build"])

    def submit_sdist(self, sdist: Path, query: Mapping[str, Any]) -> dict[str, Any]:
        result = self._request(
            "POST",
            "/api/builds/sdist",
            body=sdist.read_bytes(),
            content_type="application/octet-stream",
            query={"filename": sdist.name, **query},
        )
        return dict(result["build"])

    def builds(self, package: str | None = None) -> list[dict[str, Any]]:
        return [dict(b) for b in self._request("GET", "/api/builds", query={"package": package})]

    def build(self, build_id: int) -> dict[str, Any]:
        return dict(self._request("GET", f"/api/builds/{build_id}"))

    def cancel(self, build_id: int) -> dict[str, Any]:
        return dict(self._request("POST", f"/api/builds/{build_id}/cancel"))

    def wait(
        self,
        build_id: int,
        *,
        timeout: float,
        poll: float = 2.0,
        progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Poll until the build is published, failed or cancelled."""
        deadline = time.monotonic() + timeout
        while True:
            build = self.build(build_id)
            if progress is not None:
                progress(build)
            if build["state"] in FINISHED:
                return build
            if time.monotonic() > deadline:
                raise FarmError(f"build {build_id} is still {build['state']} after {timeout:.0f} s")
            time.sleep(poll)

    # -- campaigns ---------------------------------------------------------------------------

    def start_campaign(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return dict(self._request("POST", "/api/campaigns", body=json.dumps(body).encode()))

    def campaign(self, campaign_id: int) -> dict[str, Any]:
        return dict(self._request("GET", f"/api/campaigns/{campaign_id}"))

    def campaigns(self) -> list[dict[str, Any]]:
        return [dict(c) for c in self._request("GET", "/api/campaigns")]

    def campaign_action(
        self, campaign_id: int, action: str, body: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """``pause``, ``resume``, ``cancel``, or ``retry`` with ``{"package": NAME}``."""
        data = json.dumps(body).encode() if body is not None else None
        return dict(self._request("POST", f"/api/campaigns/{campaign_id}/{action}", body=data))

    def graph(self) -> dict[str, Any]:
        return dict(self._request("GET", "/api/graph"))

    def wait_campaign(
        self,
        campaign_id: int,
        *,
        timeout: float,
        poll: float = 2.0,
        progress: Callable[[dict[str, Any]], None] | None = None,
        until: frozenset[str] = CAMPAIGN_SETTLED,
    ) -> dict[str, Any]:
        """Poll until the campaign is done, stalled, failed or cancelled."""
        deadline = time.monotonic() + timeout
        while True:
            campaign = self.campaign(campaign_id)
            if progress is not None:
                progress(campaign)
            if campaign["state"] in until:
                return campaign
            if time.monotonic() > deadline:
                raise FarmError(
                    f"campaign {campaign_id} is still {campaign['state']} after {timeout:.0f} s"
                )
            time.sleep(poll)
