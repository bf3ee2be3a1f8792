"""How the pipeline signs in to Snowflake: exactly one credential, chosen from the environment (no I/O).

Snowflake is retiring password-only sign-in for service users. The production path is key-pair
authentication; a programmatic access token (PAT) takes a password's place; `SNOWFLAKE_AUTHENTICATOR`
changes how a credential is used (or, like `externalbrowser`, needs none). The names of the variables are
the DESIGN's; `adapters/snowflake_keys.py` loads and checks a private key, `defs/resources.py` hands the
choice to the dagster-snowflake resource's own fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from etl_platform.core.settings import SettingsError

PRIVATE_KEY = "SNOWFLAKE_PRIVATE_KEY"
PRIVATE_KEY_PATH = "SNOWFLAKE_PRIVATE_KEY_PATH"
PASSPHRASE = "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"
PASSWORD = "SNOWFLAKE_PASSWORD"
AUTHENTICATOR = "SNOWFLAKE_AUTHENTICATOR"
CREDENTIALS = (PRIVATE_KEY, PRIVATE_KEY_PATH, PASSWORD)

KEY_PAIR, PASSWORD_METHOD, AUTHENTICATOR_ONLY = "key-pair", "password", "authenticator"
JWT = "SNOWFLAKE_JWT"
# Authenticators that sign in without any credential of ours (the browser or an identity provider does).
NO_CREDENTIAL = {"EXTERNALBROWSER"}
# A PAT goes in SNOWFLAKE_PASSWORD with no authenticator: the connector sends it as the password. With this
# authenticator it would expect the token elsewhere and ignore the password, so that pairing is refused.
PAT = "PROGRAMMATIC_ACCESS_TOKEN"


class SnowflakeAuthError(SettingsError):
    """The sign-in variables are missing, clash or cannot work; names variables, never values."""


@dataclass(frozen=True)
class SnowflakeAuth:
    method: str  # KEY_PAIR | PASSWORD_METHOD | AUTHENTICATOR_ONLY
    variable: str | None  # the credential's variable (None for an authenticator alone)
    authenticator: str | None  # as given, upper-cased
    encrypted: bool = False  # a passphrase is given for the key

    def describe(self) -> str:
        """For logs and `health`: which method and variables, never a value."""
        parts = [self.method]
        if self.variable:
            parts.append(f"from {self.variable}")
        if self.encrypted:
            parts.append(f"encrypted, {PASSPHRASE}")
        if self.authenticator:
            parts.append(f"authenticator {self.authenticator}")
        return ", ".join(parts)


def _given(environ: Mapping[str, str], name: str) -> bool:
    return bool((environ.get(name) or "").strip())


def choose_auth(environ: Mapping[str, str]) -> SnowflakeAuth:
    """The one sign-in method the environment sets, or a SnowflakeAuthError naming the variables."""
    given = [name for name in CREDENTIALS if _given(environ, name)]
    authenticator = (environ.get(AUTHENTICATOR) or "").strip().upper() or None
    if len(given) > 1:
        raise SnowflakeAuthError(
            f"Snowflake sign-in: set exactly one of {', '.join(CREDENTIALS)}; {' and '.join(given)} are both set"
        )
    if _given(environ, PASSPHRASE) and given in ([], [PASSWORD]):
        raise SnowflakeAuthError(f"Snowflake sign-in: {PASSPHRASE} is set but no private key is")
    if not given:
        if authenticator is None:
            raise SnowflakeAuthError(
                f"Snowflake sign-in: no credential is set; set one of {', '.join(CREDENTIALS)} "
                f"(key-pair is the production default), or {AUTHENTICATOR}"
            )
        if authenticator not in NO_CREDENTIAL:
            raise SnowflakeAuthError(
                f"Snowflake sign-in: {AUTHENTICATOR}={authenticator} needs a credential; set one of "
                f"{', '.join(CREDENTIALS)}"
            )
        return SnowflakeAuth(AUTHENTICATOR_ONLY, None, authenticator)
    (variable,) = given
    if variable == PASSWORD:
        if authenticator in NO_CREDENTIAL | {JWT}:
            raise SnowflakeAuthError(f"Snowflake sign-in: {AUTHENTICATOR}={authenticator} does not use {PASSWORD}")
        if authenticator == PAT:
            raise SnowflakeAuthError(
                f"Snowflake sign-in: for a programmatic access token put the token in {PASSWORD} and leave "
                f"{AUTHENTICATOR} unset"
            )
        return SnowflakeAuth(PASSWORD_METHOD, variable, authenticator)
    if authenticator not in (None, JWT):
        raise SnowflakeAuthError(
            f"Snowflake sign-in: a private key signs in with {AUTHENTICATOR}={JWT} (or unset), not {authenticator}"
        )
    return SnowflakeAuth(KEY_PAIR, variable, authenticator, encrypted=_given(environ, PASSPHRASE))
