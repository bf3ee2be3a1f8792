"""Pieces both vendor sandboxes share: fault replies, counters and the /_sandbox control endpoints."""

from __future__ import annotations

import asyncio
import collections
import email.utils
import gzip
import threading
import time

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse

from etl_platform.sandbox.faults import Behaviour

HUGE_REPLY_MIB = 17  # past the clients' caps (idiCORE 4 MiB, CCC 16 MiB)
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
        return DroppedResponse()
    if fault == "html":
        return HTMLResponse(LOGIN_PAGE, status_code=200)
    if fault == "malformed":
        return Response('{"result": [ {"truncated', status_code=200, media_type="application/json")
    if fault == "retry_after_garbage":
        return PlainTextResponse("Too Many Requests", status_code=429, headers={"Retry-After": "soon"})
    if fault == "retry_after_date":
        when = email.utils.formatdate(time.time() + 1, usegmt=True)
        return PlainTextResponse("Too Many Requests", status_code=429, headers={"Retry-After": when})
    if fault == "not_utf8":
        return Response(b'{"result": "\xff\xfe\xc0"}', status_code=200, media_type="application/json")
    if fault in ("huge_reply", "huge_reply_chunked"):
        chunk = b" " * (1024 * 1024)
        if fault == "huge_reply":
            return Response(b"[" + chunk * HUGE_REPLY_MIB + b"]", status_code=200, media_type="application/json")

        async def chunks():
            yield b"["
            for _ in range(HUGE_REPLY_MIB):
                yield chunk
            yield b"]"

        return StreamingResponse(chunks(), status_code=200, media_type="application/json")
    if fault == "huge_reply_gzip":
        body = gzip.compress(b"[" + b" " * (HUGE_REPLY_MIB * 1024 * 1024) + b"]", compresslevel=1)
        headers = {"Content-Encoding": "gzip"}  # Starlette's Response sets the (compressed) Content-Length
        return Response(body, status_code=200, media_type="application/json", headers=headers)
    if fault == "400_plain":
        return PlainTextResponse("Bad Request", status_code=400)
    if fault == "405":
        return PlainTextResponse("Method Not Allowed", status_code=405)
    if fault == "bad_encoding":
        headers = {"Content-Encoding": "gzip"}
        return Response(b'{"result": []}', status_code=200, media_type="application/json", headers=headers)
    return None


def login_fault(counters: Counters, fault: str | None) -> Response | None:
    """A 200 login reply that carries no usable token (LOGIN_FAULT_KINDS), or None to log in normally."""
    if fault is None:
        return None
    counters.add(f"fault_{fault}")
    if fault == "login_html":
        return HTMLResponse(LOGIN_PAGE, status_code=200)
    if fault == "login_json":
        return JSONResponse({"token": "0f3a9c", "expiresIn": 900})
    if fault == "login_line_break":
        return Response(b"0f3a9c\r\n7d21e4", status_code=200, media_type="text/plain")
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


class DroppedResponse(Response):
    """A connection cut mid-reply, as a failing proxy or load balancer does.

    ASGI has no "reset the socket"; a reply that promises more bytes than it sends and then errors makes
    uvicorn abort the transport, and the client sees a connection closed without a complete message.
    """

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope, receive, send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"result": [', "more_body": True})
        raise ConnectionAbortedError("sandbox fault: connection dropped")
