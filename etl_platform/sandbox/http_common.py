"""Pieces both vendor sandboxes share: fault replies, counters and the /_sandbox control endpoints."""

from __future__ import annotations

import asyncio
import collections
import threading

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from etl_platform.sandbox.faults import Behaviour

LOGIN_PAGE = "<!DOCTYPE html><html><head><title>Login</title></head><body><form>Sign in</form></body></html>"


class Counters:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: collections.Counter[str] = collections.Counter()
        self.references: collections.Counter[str] = collections.Counter()

    def add(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.counts[name] += n

    def snapshot(self) -> dict:
        with self.lock:
            return {"counts": dict(self.counts), "references": dict(self.references)}

    def reset(self) -> None:
        with self.lock:
            self.counts.clear()
            self.references.clear()


class DroppedConnection(Exception):
    """Raised by a handler to make the ASGI app abort the connection without a reply."""


async def transport_fault(behaviour: Behaviour, counters: Counters, fault: str | None) -> Response | None:
    """Faults that are the same for every vendor. Returns the reply to send, or None to carry on."""
    if fault is None:
        return None
    counters.add(f"fault_{fault}")
    if fault == "429":
        return PlainTextResponse("Too Many Requests", status_code=429, headers={"Retry-After": "1"})
    if fault in ("500", "503"):
        return PlainTextResponse("Server Error", status_code=int(fault))
    if fault == "slow":
        await asyncio.sleep(behaviour.slow_seconds)
        return PlainTextResponse("late", status_code=504)
    if fault == "drop":
        raise DroppedConnection
    if fault == "html":
        return HTMLResponse(LOGIN_PAGE, status_code=200)
    if fault == "malformed":
        return Response('{"result": [ {"truncated', status_code=200, media_type="application/json")
    return None


def rate_limited(behaviour: Behaviour, counters: Counters) -> Response | None:
    wait = behaviour.bucket.take()
    if wait:
        counters.add("rate_limited")
        return PlainTextResponse(
            "Rate limit exceeded", status_code=429, headers={"Retry-After": f"{max(1, round(wait))}"}
        )
    return None


def control_routes(behaviour: Behaviour, counters: Counters):
    from starlette.routing import Route

    async def stats(_: Request) -> JSONResponse:
        return JSONResponse(counters.snapshot() | {"behaviour": behaviour.as_dict()})

    async def configure(request: Request) -> JSONResponse:
        changes = await request.json()
        behaviour.update(**changes)
        return JSONResponse(behaviour.as_dict())

    async def reset(_: Request) -> JSONResponse:
        counters.reset()
        return JSONResponse({"ok": True})

    return [
        Route("/_sandbox/stats", stats, methods=["GET"]),
        Route("/_sandbox/config", configure, methods=["POST"]),
        Route("/_sandbox/reset", reset, methods=["POST"]),
    ]


class DropConnectionMiddleware:
    """Turns DroppedConnection into a closed socket with no HTTP reply, as a failing proxy does."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        try:
            await self.app(scope, receive, send)
        except DroppedConnection:
            # Raising out of the ASGI app before a response starts makes uvicorn close the transport;
            # there is no portable "RST" in ASGI, and a closed socket is what the client must survive.
            raise ConnectionAbortedError("sandbox dropped the connection") from None
