"""The sandbox warehouse's sign-in, checked like a real account's.

fakesnow accepts any login, so a sandbox connection would prove nothing about credentials. This ASGI layer
in front of it checks each `/session/v1/login-request` the way Snowflake does for a service user:
- key-pair (`AUTHENTICATOR=SNOWFLAKE_JWT`): the JWT's RS256 signature against the public keys registered
  for the user, its issuer (`ACCOUNT.USER.SHA256:<fingerprint>`), subject and expiry;
- a password, or a programmatic access token sent as one: against the registered ones;
and answers a failure as Snowflake does (HTTP 200, `success: false`, code 390100 or 390144). Every other
request goes to fakesnow untouched.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from dataclasses import dataclass, field

import jwt
from cryptography.hazmat.primitives import serialization

LOGIN_PATH = "/session/v1/login-request"
BAD_PASSWORD = ("390100", "Incorrect username or password was specified.")
BAD_JWT = ("390144", "JWT token is invalid.")


def fingerprint_of_public_key(pem: bytes) -> str:
    key = serialization.load_pem_public_key(pem)
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode()


@dataclass
class SnowflakeLogin:
    """Who may sign in: one account and user, its passwords/tokens and its registered public keys."""

    app: object
    account: str
    user: str
    passwords: set[str] = field(default_factory=set)
    public_keys: dict[str, bytes] = field(default_factory=dict)  # fingerprint -> PEM
    logins: dict[str, int] = field(default_factory=dict)  # accepted logins by method, for tests

    def register_public_key(self, pem: bytes) -> str:
        fingerprint = fingerprint_of_public_key(pem)
        self.public_keys[fingerprint] = pem
        return fingerprint

    def check(self, data: dict) -> tuple[str, str] | None:
        """None when the login is good, else Snowflake's (code, message)."""
        if (data.get("LOGIN_NAME") or "").upper() != self.user.upper():
            return BAD_PASSWORD
        if (data.get("AUTHENTICATOR") or "").upper() == "SNOWFLAKE_JWT":
            return None if self._jwt_ok(data.get("TOKEN") or "") else BAD_JWT
        return None if data.get("PASSWORD") in self.passwords else BAD_PASSWORD

    def _jwt_ok(self, token: str) -> bool:
        principal = f"{self.account.split('.')[0].upper()}.{self.user.upper()}"
        try:
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss", "")
        except jwt.PyJWTError:
            return False
        prefix, _, fingerprint = issuer.rpartition(".")
        if prefix != principal or fingerprint not in self.public_keys:
            return False
        try:
            claims = jwt.decode(
                token,
                serialization.load_pem_public_key(self.public_keys[fingerprint]),
                algorithms=["RS256"],
                options={"require": ["iss", "sub", "iat", "exp"]},
            )
        except jwt.PyJWTError:
            return False
        return claims["sub"] == principal

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != LOGIN_PATH:
            await self.app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = dict(scope.get("headers") or [])
        raw = gzip.decompress(body) if headers.get(b"content-encoding", b"").lower() == b"gzip" else body
        try:
            data = json.loads(raw).get("data") or {}
        except ValueError:
            data = {}
        problem = self.check(data)
        if problem is None:
            method = "key-pair" if (data.get("AUTHENTICATOR") or "").upper() == "SNOWFLAKE_JWT" else "password"
            self.logins[method] = self.logins.get(method, 0) + 1

            async def replay():
                return {"type": "http.request", "body": body, "more_body": False}

            await self.app(scope, replay, send)
            return
        code, text = problem
        payload = json.dumps({"data": {"errorCode": code}, "code": code, "message": text, "success": False}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": payload})
