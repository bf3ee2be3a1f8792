"""Key-pair sign-in end to end: the project's dagster-snowflake resource, through the real connector, to the
sandbox warehouse, whose login checks the JWT's signature against the user's registered public key (a plain
fakesnow would accept anything, proving nothing)."""

from __future__ import annotations

import os

import dagster as dg
import pytest
import snowflake.connector
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from etl_platform.core.settings import Settings
from etl_platform.core.snowflake_auth import SnowflakeAuthError
from etl_platform.defs.resources import snowflake_resource

PASSPHRASE = "sandbox key passphrase"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key, passphrase: str | None = None) -> bytes:
    encryption = (
        serialization.BestAvailableEncryption(passphrase.encode()) if passphrase else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def public_pem(key) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture(scope="module")
def registered_key(sandbox):
    key = new_key()
    sandbox.snowflake_login.register_public_key(public_pem(key))
    return key


@pytest.fixture
def key_env(monkeypatch, sandbox):
    """The process environment with the sandbox's endpoints and no password: a key decides."""
    monkeypatch.delenv("SNOWFLAKE_PASSWORD", raising=False)

    def use(**variables):
        for name in ("SNOWFLAKE_PRIVATE_KEY", "SNOWFLAKE_PRIVATE_KEY_PATH", "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"):
            monkeypatch.delenv(name, raising=False)
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        return dict(os.environ)

    return use


def select_one(environ) -> int:
    """Build the resource as the code location does, and run one statement through it."""
    resource = snowflake_resource(environ, Settings.from_env(environ)).process_config_and_initialize()
    with resource.get_connection() as conn:
        cur = conn.cursor()
        cur.execute("SELECT 1")
        return cur.fetchone()[0]


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain key", "encrypted key"])
def test_a_registered_key_signs_in_through_the_dagster_resource(sandbox, registered_key, key_env, tmp_path, encrypted):
    path = tmp_path / "rsa_key.p8"
    path.write_bytes(private_pem(registered_key, PASSPHRASE if encrypted else None))
    environ = key_env(
        SNOWFLAKE_PRIVATE_KEY_PATH=str(path), **({"SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": PASSPHRASE} if encrypted else {})
    )
    before = sandbox.snowflake_login.logins.get("key-pair", 0)
    assert select_one(environ) == 1
    assert sandbox.snowflake_login.logins["key-pair"] == before + 1


def test_an_unregistered_key_is_refused_by_the_warehouse(sandbox, registered_key, key_env):
    environ = key_env(SNOWFLAKE_PRIVATE_KEY=private_pem(new_key()).decode())
    with pytest.raises(snowflake.connector.errors.DatabaseError, match="JWT token is invalid"):
        select_one(environ)


def test_a_wrong_passphrase_loads_says_so_and_stops_the_first_connection(sandbox, registered_key, key_env, caplog):
    """The code location loads with a key it cannot use (DESIGN: it loads with anything set), says so where a
    data engineer looks (a warning at load, the resource's description in the UI, health's first line), and
    the first connection fails with the one line naming the variables, before anything reaches the warehouse."""
    from etl_platform.cli.health import DOWN, run_health

    environ = key_env(
        SNOWFLAKE_PRIVATE_KEY=private_pem(registered_key, PASSPHRASE).decode(),
        SNOWFLAKE_PRIVATE_KEY_PASSPHRASE="not the passphrase",
    )
    logins = dict(sandbox.snowflake_login.logins)
    with caplog.at_level("WARNING", logger="etl_platform"):
        resource = snowflake_resource(environ, Settings.from_env(environ))
    words = "wrong SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"
    assert any(words in r.getMessage() for r in caplog.records), caplog.text
    description = resource.get_resource_definition().description
    assert description.startswith("SIGN-IN PROBLEM") and words in description
    with pytest.raises(SnowflakeAuthError, match=words) as failure:
        select_one(environ)
    assert isinstance(failure.value, dg.Failure) and failure.value.allow_retries is False
    assert sandbox.snowflake_login.logins == logins, "nothing reached the warehouse"
    first = run_health(environ)[0]
    assert (first.name, first.status) == ("snowflake sign-in", DOWN) and words in first.detail, first
    texts = [caplog.text, description, str(failure.value), first.detail]
    assert not any("not the passphrase" in text or "PRIVATE KEY" in text for text in texts), "no secret shown"


def test_a_good_key_is_named_in_the_description_with_its_fingerprint(registered_key, key_env, tmp_path):
    from etl_platform.adapters.snowflake_keys import public_key_fingerprint

    path = tmp_path / "rsa_key.p8"
    path.write_bytes(private_pem(registered_key))
    environ = key_env(SNOWFLAKE_PRIVATE_KEY_PATH=str(path))
    description = snowflake_resource(environ, Settings.from_env(environ)).get_resource_definition().description
    assert "key-pair, from SNOWFLAKE_PRIVATE_KEY_PATH" in description
    assert public_key_fingerprint(registered_key) in description and "SIGN-IN PROBLEM" not in description


def test_passwords_are_checked_too(sandbox):
    with pytest.raises(snowflake.connector.errors.DatabaseError, match="Incorrect username or password"):
        sandbox.connect(password="not-the-password")
    token = "pat-sandbox-token"  # a programmatic access token is sent as the password
    sandbox.snowflake_login.passwords.add(token)
    try:
        with sandbox.connect(password=token) as conn:
            assert conn.cursor().execute("SELECT 1").fetchone()[0] == 1
    finally:
        sandbox.snowflake_login.passwords.discard(token)


def test_health_signs_in_with_the_key_and_names_it_without_secrets(sandbox, registered_key, key_env, tmp_path):
    from etl_platform.adapters.snowflake_keys import public_key_fingerprint
    from etl_platform.cli.health import UP, probe_snowflake

    path = tmp_path / "rsa_key.p8"
    path.write_bytes(private_pem(registered_key, PASSPHRASE))
    environ = key_env(SNOWFLAKE_PRIVATE_KEY_PATH=str(path), SNOWFLAKE_PRIVATE_KEY_PASSPHRASE=PASSPHRASE)
    status, detail = probe_snowflake(environ)
    assert status == UP, detail
    assert "key-pair, from SNOWFLAKE_PRIVATE_KEY_PATH" in detail and public_key_fingerprint(registered_key) in detail
    assert PASSPHRASE not in detail
