"""Snowflake sign-in: exactly one credential is chosen, and a private key is loaded and checked up front, each
problem one line naming the variable and never its value (real RSA keys, generated per test)."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from etl_platform.adapters.snowflake_keys import checked_auth, connector_auth_args, public_key_fingerprint
from etl_platform.core.settings import SettingsError
from etl_platform.core.snowflake_auth import KEY_PAIR, PASSWORD_METHOD, SnowflakeAuthError, choose_auth

PASSPHRASE = "correct horse battery staple"


def pem(key, passphrase: str | None = None) -> str:
    encryption = (
        serialization.BestAvailableEncryption(passphrase.encode()) if passphrase else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption).decode()


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize(
    ("environ", "words"),
    [
        ({}, "no credential is set"),
        (
            {"SNOWFLAKE_PASSWORD": "p", "SNOWFLAKE_PRIVATE_KEY_PATH": "/k"},
            "SNOWFLAKE_PRIVATE_KEY_PATH and SNOWFLAKE_PASSWORD",
        ),
        ({"SNOWFLAKE_PRIVATE_KEY": "k", "SNOWFLAKE_PRIVATE_KEY_PATH": "/k"}, "are both set"),
        ({"SNOWFLAKE_PASSWORD": "p", "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": "x"}, "no private key is"),
        ({"SNOWFLAKE_AUTHENTICATOR": "oauth"}, "needs a credential"),
        ({"SNOWFLAKE_PRIVATE_KEY_PATH": "/k", "SNOWFLAKE_AUTHENTICATOR": "externalbrowser"}, "not EXTERNALBROWSER"),
        ({"SNOWFLAKE_PASSWORD": "p", "SNOWFLAKE_AUTHENTICATOR": "snowflake_jwt"}, "does not use SNOWFLAKE_PASSWORD"),
        (
            {"SNOWFLAKE_PASSWORD": "p", "SNOWFLAKE_AUTHENTICATOR": "programmatic_access_token"},
            "leave SNOWFLAKE_AUTHENTICATOR",
        ),
    ],
)
def test_none_or_two_credentials_is_one_clear_error(environ, words):
    with pytest.raises(SnowflakeAuthError, match=words) as failure:
        choose_auth(environ)
    assert isinstance(failure.value, SettingsError), "the CLI and the code location report it as a setting"
    assert not any(value in str(failure.value) for value in environ.values() if len(value) > 1)


@pytest.mark.parametrize(
    ("environ", "method", "authenticator"),
    [
        ({"SNOWFLAKE_PASSWORD": "a PAT or a password"}, PASSWORD_METHOD, None),
        (
            {"SNOWFLAKE_PASSWORD": "p", "SNOWFLAKE_AUTHENTICATOR": "username_password_mfa"},
            PASSWORD_METHOD,
            "USERNAME_PASSWORD_MFA",
        ),
        ({"SNOWFLAKE_PRIVATE_KEY_PATH": "/k", "SNOWFLAKE_PASSWORD": ""}, KEY_PAIR, None),
        ({"SNOWFLAKE_PRIVATE_KEY": "k", "SNOWFLAKE_AUTHENTICATOR": "SNOWFLAKE_JWT"}, KEY_PAIR, "SNOWFLAKE_JWT"),
        ({"SNOWFLAKE_AUTHENTICATOR": "externalbrowser"}, "authenticator", "EXTERNALBROWSER"),
    ],
)
def test_exactly_one_method_is_chosen(environ, method, authenticator):
    auth = choose_auth(environ)
    assert (auth.method, auth.authenticator) == (method, authenticator)
    secrets = [v for k, v in environ.items() if k != "SNOWFLAKE_AUTHENTICATOR" and len(v) > 3]
    assert not any(secret in auth.describe() for secret in secrets)


def test_an_encrypted_key_with_its_passphrase_loads_from_text_file_or_base64(key, tmp_path):
    encrypted = pem(key, PASSPHRASE)
    path = tmp_path / "rsa_key.p8"
    path.write_text(encrypted)
    expected = public_key_fingerprint(key)
    for environ in (
        {"SNOWFLAKE_PRIVATE_KEY": encrypted},
        {"SNOWFLAKE_PRIVATE_KEY": base64.b64encode(encrypted.encode()).decode()},
        {"SNOWFLAKE_PRIVATE_KEY_PATH": str(path)},
    ):
        auth, fingerprint = checked_auth(environ | {"SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": PASSPHRASE})
        assert auth.method == KEY_PAIR and auth.encrypted and fingerprint == expected
    der = connector_auth_args({"SNOWFLAKE_PRIVATE_KEY_PATH": str(path), "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": PASSPHRASE})
    assert serialization.load_der_private_key(der["private_key"], None).private_numbers() == key.private_numbers()


def test_a_plain_key_loads_without_a_passphrase(key):
    auth, fingerprint = checked_auth({"SNOWFLAKE_PRIVATE_KEY": pem(key)})
    assert not auth.encrypted and fingerprint.startswith("SHA256:")


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("wrong passphrase", "wrong SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"),
        ("encrypted, no passphrase", "is encrypted: set SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"),
        ("plain, with passphrase", "not encrypted, but SNOWFLAKE_PRIVATE_KEY_PASSPHRASE is set"),
        ("not a key", "neither a PEM private key nor a base64-encoded one"),
        ("not PEM", "does not hold a PEM private key"),
        ("EC key", "not an RSA key"),
        ("missing file", "SNOWFLAKE_PRIVATE_KEY_PATH: cannot read"),
        ("one-line PEM", "on one line with literal"),
    ],
)
def test_a_key_that_cannot_sign_in_is_a_clear_error_at_load(key, tmp_path, case, words):
    environ = {
        "wrong passphrase": {"SNOWFLAKE_PRIVATE_KEY": pem(key, PASSPHRASE), "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": "nope"},
        "encrypted, no passphrase": {"SNOWFLAKE_PRIVATE_KEY": pem(key, PASSPHRASE)},
        "plain, with passphrase": {"SNOWFLAKE_PRIVATE_KEY": pem(key), "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": PASSPHRASE},
        "not a key": {"SNOWFLAKE_PRIVATE_KEY": "hunter2 is not a key!"},
        "not PEM": {"SNOWFLAKE_PRIVATE_KEY": base64.b64encode(b"just bytes").decode()},
        "EC key": {"SNOWFLAKE_PRIVATE_KEY": pem(ec.generate_private_key(ec.SECP256R1()))},
        "missing file": {"SNOWFLAKE_PRIVATE_KEY_PATH": str(tmp_path / "absent.p8")},
        # the resource would read it as it is and fail in every run: refused here
        "one-line PEM": {"SNOWFLAKE_PRIVATE_KEY": pem(key).replace("\n", "\\n")},
    }[case]
    with pytest.raises(SnowflakeAuthError, match=words) as failure:
        checked_auth(environ)
    secrets = [environ.get("SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"), environ.get("SNOWFLAKE_PRIVATE_KEY")]
    assert not any(s and s in str(failure.value) for s in secrets)
