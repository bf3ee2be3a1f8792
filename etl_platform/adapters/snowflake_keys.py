"""Key-pair sign-in material, loaded and checked with `cryptography` when the resource is built.

The connector reports a wrong passphrase, or an encrypted key without one, only when it connects, and then
as a misleading error. Loading the key up front turns each case into one clear line naming the variable
(never its value). The public key's fingerprint (`SHA256:...`, what Snowflake shows as
RSA_PUBLIC_KEY_FP for the user) is public and says which key is in use.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from etl_platform.core.snowflake_auth import (
    KEY_PAIR,
    PASSPHRASE,
    PASSWORD,
    PASSWORD_METHOD,
    PRIVATE_KEY,
    PRIVATE_KEY_PATH,
    SnowflakeAuth,
    SnowflakeAuthError,
    choose_auth,
)


def _key_bytes(environ: Mapping[str, str], variable: str) -> bytes:
    if variable == PRIVATE_KEY_PATH:
        path = Path(environ[PRIVATE_KEY_PATH]).expanduser()
        try:
            return path.read_bytes()
        except OSError as exc:
            raise SnowflakeAuthError(f"{PRIVATE_KEY_PATH}: cannot read {path} ({exc.strerror})") from None
    text = environ[PRIVATE_KEY].strip()
    if "-----BEGIN" in text:
        if "\\n" in text:
            # The dagster-snowflake resource reads the variable as it is: a PEM flattened to one line with
            # literal \n would pass here and fail in every run.
            raise SnowflakeAuthError(
                f"{PRIVATE_KEY} holds a PEM on one line with literal \\n: give it real line breaks, or its "
                "base64 (`base64 -w0 rsa_key.p8`)"
            )
        return text.encode()
    try:  # dagster-snowflake also accepts the PEM base64-encoded (one line, fits any secret store)
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SnowflakeAuthError(f"{PRIVATE_KEY} is neither a PEM private key nor a base64-encoded one") from None


def load_private_key(environ: Mapping[str, str], auth: SnowflakeAuth) -> rsa.RSAPrivateKey:
    """The RSA private key the variables name, or a SnowflakeAuthError saying what is wrong with it."""
    variable = auth.variable or PRIVATE_KEY
    data = _key_bytes(environ, variable)
    passphrase = (environ.get(PASSPHRASE) or "").encode() or None
    try:
        key = serialization.load_pem_private_key(data, password=passphrase)
    except TypeError as exc:  # cryptography: encrypted without a password, or a password for a plain key
        if "not encrypted" in str(exc):
            raise SnowflakeAuthError(
                f"the key in {variable} is not encrypted, but {PASSPHRASE} is set: unset it"
            ) from None
        raise SnowflakeAuthError(f"the key in {variable} is encrypted: set {PASSPHRASE}") from None
    except ValueError:
        if passphrase:
            raise SnowflakeAuthError(
                f"cannot decrypt the key in {variable}: wrong {PASSPHRASE}, or the key is damaged"
            ) from None
        raise SnowflakeAuthError(f"{variable} does not hold a PEM private key (PKCS#8, e.g. rsa_key.p8)") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SnowflakeAuthError(f"the key in {variable} is not an RSA key: Snowflake key-pair sign-in needs RSA")
    return key


def public_key_fingerprint(key: rsa.RSAPrivateKey) -> str:
    """Snowflake's RSA_PUBLIC_KEY_FP: SHA-256 of the DER public key, base64."""
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode()


def checked_auth(environ: Mapping[str, str]) -> tuple[SnowflakeAuth, str | None]:
    """The chosen sign-in method, with its key loaded and checked; the key's fingerprint for key-pair."""
    auth = choose_auth(environ)
    if auth.method != KEY_PAIR:
        return auth, None
    return auth, public_key_fingerprint(load_private_key(environ, auth))


def connector_auth_args(environ: Mapping[str, str]) -> dict[str, Any]:
    """`snowflake.connector.connect` arguments for the chosen method (health probe, sandbox tools)."""
    auth = choose_auth(environ)
    args: dict[str, Any] = {}
    if auth.method == KEY_PAIR:
        key = load_private_key(environ, auth)
        args["private_key"] = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    elif auth.method == PASSWORD_METHOD:
        args["password"] = environ[PASSWORD]
    if auth.authenticator:
        args["authenticator"] = auth.authenticator
    return args
