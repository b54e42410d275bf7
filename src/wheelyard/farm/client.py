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


@dataclass(frozen=True)
class FarmClient:
    url: str
    token: str | None = None
    timeout: float = 300.0

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
