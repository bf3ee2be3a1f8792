"""CCC litigator-scrub sandbox: `loginId` header, `{"PhoneList": "a,b,c"}`, an array reply in input order."""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from etl_platform.sandbox.faults import Behaviour
from etl_platform.sandbox.http_common import (
    LOGIN_PAGE,
    Counters,
    control_routes,
    rate_limited,
    transport_fault,
)
from etl_platform.sandbox.world import World

MAX_PHONES = 10_000


def create_app(world: World, behaviour: Behaviour, login_id: str, counters: Counters | None = None) -> Starlette:
    counters = counters or Counters()

    async def litigator(request: Request) -> Response:
        counters.add("requests")
        if limited := rate_limited(behaviour, counters):
            return limited
        if request.headers.get("loginid") != login_id:
            counters.add("unauthorized")
            # Some CCC hosts answer a bad key with their login page and a 200; so does this one.
            return HTMLResponse(LOGIN_PAGE, status_code=200)
        fault = behaviour.roll()
        await behaviour.delay()
        if reply := await transport_fault(behaviour, counters, fault):
            return reply
        try:
            phone_list = json.loads(await request.body())["PhoneList"]
        except (ValueError, KeyError, TypeError):
            return PlainTextResponse("Bad Request: PhoneList required", status_code=400)
        phones = [p.strip() for p in str(phone_list).split(",") if p.strip()]
        if len(phones) > MAX_PHONES:
            return PlainTextResponse(f"Bad Request: at most {MAX_PHONES} phones", status_code=400)
        if any(len(p) != 10 or not p.isdigit() for p in phones):
            counters.add("bad_batches")
            # Like the real service, one malformed number fails the whole batch.
            return PlainTextResponse("Bad Request: invalid phone number in PhoneList", status_code=400)
        counters.add("scrubbed_phones", len(phones))
        reply = [{"Phone": int(p), "IsLitigator": world.is_litigator(p)} for p in phones]
        if fault == "missing_phone" and reply:  # counted as fault_missing_phone by transport_fault
            reply.pop(len(reply) // 2)
        return JSONResponse(reply)

    app = Starlette(
        routes=[
            Route("/v1.5/Scrub/litigator", litigator, methods=["POST"]),
            *control_routes(behaviour, counters),
        ]
    )
    app.state.counters = counters
    app.state.behaviour = behaviour
    return app
