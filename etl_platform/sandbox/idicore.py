"""idiCORE sandbox: plain-text tokens from Basic auth, `Authorization: <token>` searches, `{"result": [...]}`."""

from __future__ import annotations

import base64
import json
import secrets
import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from etl_platform.sandbox.faults import Behaviour
from etl_platform.sandbox.http_common import (
    Counters,
    control_routes,
    login_fault,
    rate_limited,
    transport_fault,
)
from etl_platform.sandbox.world import World

TOKEN_TTL_SECONDS = 15 * 60


def create_app(
    world: World, behaviour: Behaviour, client_id: str, client_secret: str, counters: Counters | None = None
) -> Starlette:
    counters = counters or Counters()
    tokens: dict[str, float] = {}  # token -> expiry (monotonic)

    async def login(request: Request) -> Response:
        counters.add("logins")
        await behaviour.delay()
        header = request.headers.get("authorization", "")
        try:
            scheme, _, encoded = header.partition(" ")
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except Exception:  # noqa: BLE001 - any malformed header is simply unauthorised
            scheme, user, password = "", "", ""
        if scheme.lower() != "basic" or (user, password) != (client_id, client_secret):
            counters.add("login_rejected")
            return PlainTextResponse("Unauthorized", status_code=401)
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            body = {}
        if body.get("glba") is None or body.get("dppa") is None:
            return PlainTextResponse("glba and dppa permissible purposes are required", status_code=400)
        if reply := login_fault(counters, behaviour.roll(login=True)):
            return reply
        token = secrets.token_hex(24)
        tokens[token] = time.monotonic() + TOKEN_TTL_SECONDS
        return PlainTextResponse(token)

    async def search(request: Request) -> Response:
        counters.add("requests")
        if limited := rate_limited(behaviour, counters):
            return limited
        token = request.headers.get("authorization", "")
        expiry = tokens.get(token)
        if expiry is None or expiry < time.monotonic():
            counters.add("unauthorized")
            return PlainTextResponse("Unauthorized", status_code=401)
        fault = behaviour.roll()
        if fault == "token_expiry":
            counters.add("fault_token_expiry")
            tokens.pop(token, None)
            return PlainTextResponse("Unauthorized", status_code=401)
        await behaviour.delay()
        if reply := await transport_fault(behaviour, counters, fault):
            return reply
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"error": {"code": "BadRequest", "message": "body is not JSON"}}, 400)
        counters.add("searches")  # billed
        if ref := body.get("referenceId"):
            with counters.lock:
                counters.references[str(ref)] += 1
        first, last = body.get("firstName") or "", body.get("lastName") or ""
        if not first or not last:
            return JSONResponse({"error": {"code": "BadRequest", "message": "name required"}}, 400)
        if fault == "too_many_matches" or not (body.get("address") or body.get("zip")):
            counters.add("too_many_matches")
            return JSONResponse({"error": {"code": "TooManyMatches"}}, status_code=400)
        person = world.person(first, last, body.get("zip") or "")
        if person is None:
            return JSONResponse({"result": []})
        wanted = set(body.get("fields") or ("name", "phone", "email"))
        phones = [
            {
                "number": p.display,
                "type": p.type,
                "disconnected": p.disconnected,
                "providerName": "SandboxTel",
                "meta": {"rank": p.rank, "firstSeen": p.first_seen, "lastSeen": p.last_seen},
            }
            for p in person.phones
        ]
        # idiCORE's order is not guaranteed to be rank order: clients must sort by meta.rank.
        phones.reverse()
        result = {"name": [{"first": first, "last": last}]}
        if "phone" in wanted:
            result["phone"] = phones
        if "email" in wanted:
            result["email"] = [{"data": e, "meta": {"rank": r}} for e, r in person.emails]
        # a weaker second match, as a real people search returns: the client must take result[0]
        decoy = {"name": [{"first": first, "last": last + "-X"}], "phone": [], "email": []}
        return JSONResponse({"result": [result, decoy]})

    app = Starlette(
        routes=[
            Route("/apiclient", login, methods=["POST"]),
            Route("/search/", search, methods=["POST"]),
            *control_routes(behaviour, counters),
        ]
    )
    app.state.counters = counters
    app.state.behaviour = behaviour
    return app
