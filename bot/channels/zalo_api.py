"""A thin client for the Zalo Bot API: ``POST {server}/bot<token>/<method>`` with a JSON body.

Every answer is ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N,
"description": ...}``; the second is an error whatever the HTTP status (Zalo often answers
errors with HTTP 200). No third-party Zalo SDK: the ones on PyPI are thin, blocking or untyped.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import aiohttp

log = logging.getLogger(__name__)


class ZaloError(Exception):
    """The platform answered ``ok: false`` (or an HTTP error without a JSON body)."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"{code} {description}".strip())
        self.code = code
        self.description = description


class ZaloTimeout(Exception):
    """No answer in time: the request may or may not have been carried out."""


class ZaloNetworkError(Exception):
    """The server could not be reached, or the connection broke before an answer."""


class ZaloApi:
    def __init__(self, api_url: str, token: str, request_timeout: float) -> None:
        self._base = f"{api_url.rstrip('/')}/bot{token}"
        self._api_url = api_url
        self._timeout = request_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def api_url(self) -> str:
        return self._api_url

    async def open(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=64),
                timeout=aiohttp.ClientTimeout(total=None, connect=5.0),
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("ZaloApi.open() was not called")
        return self._session

    async def call(
        self, method: str, params: dict[str, Any] | None = None, wait_seconds: float | None = None
    ) -> Any:
        """The ``result`` of a method; raises ZaloError, ZaloTimeout or ZaloNetworkError."""
        wait = aiohttp.ClientTimeout(total=wait_seconds or self._timeout, connect=5.0)
        try:
            async with self._client().post(
                f"{self._base}/{method}", json=params or {}, timeout=wait
            ) as response:
                status = response.status
                raw = await response.read()
        except TimeoutError as exc:
            raise ZaloTimeout(f"{method}: no answer in {wait.total:.0f} s") from exc
        except aiohttp.ClientConnectorError as exc:
            raise ZaloNetworkError(f"{method}: cannot connect ({exc})") from exc
        except aiohttp.ClientError as exc:
            raise ZaloNetworkError(f"{method}: {exc!r}") from exc
        return _result(method, status, raw)

    async def download(self, url: str, target: Path, max_bytes: int) -> bool:
        """Save a file the platform links to; False when it is larger than ``max_bytes``."""
        wait = aiohttp.ClientTimeout(total=max(30.0, self._timeout * 3), connect=5.0)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(target.suffix + ".part")
        try:
            async with self._client().get(url, timeout=wait) as response:
                if response.status != 200:
                    raise ZaloError(response.status, f"download of {url} failed")
                if (response.content_length or 0) > max_bytes:
                    return False
                size = 0
                with partial.open("wb") as out:
                    async for chunk in response.content.iter_chunked(64 * 1024):
                        size += len(chunk)
                        if size > max_bytes:
                            break
                        out.write(chunk)
            if size > max_bytes:
                partial.unlink(missing_ok=True)
                return False
            partial.replace(target)
            return True
        except (TimeoutError, aiohttp.ClientError) as exc:
            partial.unlink(missing_ok=True)
            raise ZaloNetworkError(f"download of {url}: {exc!r}") from exc
        except asyncio.CancelledError:
            partial.unlink(missing_ok=True)
            raise


def _result(method: str, status: int, raw: bytes) -> Any:
    import json

    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        if status >= 500:
            raise ZaloNetworkError(f"{method}: HTTP {status}")
        raise ZaloError(status, f"{method}: HTTP {status}, not a Bot API answer")
    if body.get("ok") is True:
        return body.get("result")
    code = body.get("error_code")
    if not isinstance(code, int):
        code = status if status >= 400 else 400
    description = str(body.get("description") or body.get("message") or "")
    if code >= 500:
        raise ZaloNetworkError(f"{method}: {code} {description}")
    raise ZaloError(code, description)
