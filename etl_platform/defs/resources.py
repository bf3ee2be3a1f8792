"""The project's resources, built from the Settings and the environment.

Credentials and endpoints are `dg.EnvVar`s: Dagster resolves them when a run starts and never shows their
values in the UI; the Snowflake credential is read from the environment when a step first connects. Tuning
knobs come from `Settings` (read once when the definitions load), so the UI's resource view shows the values a
run will use.
"""

from __future__ import annotations

import inspect
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

from etl_platform.adapters.dnc_store import DncStore
from etl_platform.adapters.snowflake_keys import checked_auth
from etl_platform.adapters.vendors.ccc import CccClient
from etl_platform.adapters.vendors.idicore import IdiCoreClient
from etl_platform.adapters.warehouse import connection_args_from_env
from etl_platform.core.settings import Settings, VendorCallPolicy
from etl_platform.core.snowflake_auth import (
    KEY_PAIR,
    PASSPHRASE,
    PASSWORD,
    PASSWORD_METHOD,
    PRIVATE_KEY_PATH,
    SnowflakeAuthError,
)
from etl_platform.core.stages import LEAD_CONTACTS, LITIGATOR_SCRUB
from etl_platform.defs.snowflake_resource import SnowflakeResource

log = logging.getLogger(__name__)


class _VendorCallFields(dg.ConfigurableResource):
    """Timeouts, retries and breaker of one vendor (VENDOR_* and <VENDOR>_* settings). The fields repeat
    `core.settings.VendorCallPolicy`'s on purpose: Dagster shows a resource's own fields in the UI and takes
    only Dagster Config types as nested fields."""

    timeout_seconds: float
    max_attempts: int
    max_retry_seconds: float
    backoff_initial_seconds: float
    breaker_fail_max: int
    breaker_reset_seconds: float

    def call_policy(self) -> VendorCallPolicy:
        return VendorCallPolicy(**{name: getattr(self, name) for name in VendorCallPolicy.model_fields})


class IdiCoreResource(_VendorCallFields):
    """idiCORE people search (IDICORE_* variables).

    The run logs in to idiCORE as the resource is set up, at the start of a run that will search, in a
    thread of its own: the login's round trip then overlaps the extract and the pre-filter instead of
    delaying the first search (0.25 s of a 200-lead day's 5.9 s against the sandbox). The searches adopt
    that token; if the early login failed or has not answered within the call timeout, they log in
    themselves, with their retries and breaker, so an early failure changes nothing but the timing."""

    auth_url: str
    search_url: str
    client_id: str
    client_secret: str
    concurrency: int = Field(description="searches in flight at once")
    rate_limit: float = Field(description="searches per second, client side")
    _early_login: Future | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Dagster sets up only the resources the run's steps require: runs that do not search do not log in.
        early: Future = Future()

        def log_in() -> None:
            try:
                early.set_result(self._new_client().login_only())
            except Exception as error:  # noqa: BLE001 - handed to client(), which falls back
                early.set_exception(error)
            except BaseException as error:  # noqa: BLE001 - never re-raised in the step as what it was
                early.set_exception(RuntimeError(f"early login interrupted ({type(error).__name__})"))

        # A daemon thread: a login hanging on a dead vendor must not hold the run's process at exit.
        threading.Thread(target=log_in, name="idicore-early-login", daemon=True).start()
        self._early_login = early

    def client(self) -> IdiCoreClient:
        client = self._new_client()
        if self._early_login is not None:
            try:
                client.adopt_token(*self._early_login.result(timeout=client.timeout))
            except Exception as error:  # noqa: BLE001 - the searches log in themselves (retries, breaker)
                # the kind only: a vendor error's text never carries the credentials, but keep it short
                log.info("idiCORE early login gave no token (%s); the searches log in themselves", type(error).__name__)
        return client

    def _new_client(self) -> IdiCoreClient:
        return IdiCoreClient(
            auth_url=self.auth_url,
            search_url=self.search_url,
            client_id=self.client_id,
            client_secret=self.client_secret,
            concurrency=self.concurrency,
            rate_limit=self.rate_limit,
            policy=self.call_policy(),
        )


class CccResource(_VendorCallFields):
    """CCC litigator scrub (CCC_* variables)."""

    url: str
    login_id: str
    batch_size: int = Field(description="phones per request (<= 10,000)")

    def client(self) -> CccClient:
        return CccClient(url=self.url, login_id=self.login_id, batch_size=self.batch_size, policy=self.call_policy())


class DncRegistryResource(dg.ConfigurableResource):
    """The local DNC store (DNC_REGISTRY_PATH) and the folder of FTC files it loads (DNC_SOURCE_DIR)."""

    registry_path: str
    source_dir: str
    # One DuckDB query per batch; each opens the store (~0.1 s for a national registry). A million phones
    # are ~20 MB of Arrow, so batches only need to bound truly huge days.
    batch_size: int = Field(description="phones per look-up query")

    def store(self) -> DncStore:
        return DncStore(Path(self.registry_path))


def _call_fields(settings: Settings, vendor: str) -> dict[str, float | int]:
    return settings.call_policy(vendor).model_dump()


class SnowflakeSignInError(SnowflakeAuthError, dg.Failure):
    """The sign-in variables cannot work, raised when a step first connects: one line naming the variables
    (never a value). A `dg.Failure`, so that line is the step's failure description (the run page, the
    alert), and not retried (a credential does not fix itself between attempts); a `SettingsError`, so a
    command prints it as one line too."""

    def __init__(self, message: str):
        dg.Failure.__init__(self, description=message, allow_retries=False)


def sign_in_status(environ: Mapping[str, str]) -> tuple[str, str | None]:
    """(what the sign-in is, what is wrong with it or None), checked without connecting and without raising:
    the code location must load whatever the variables hold (DESIGN), so this only informs (a warning at
    load, the resource's description in the UI); the step that needs Snowflake raises the same line."""
    try:
        auth, fingerprint = checked_auth(environ)
    except SnowflakeAuthError as err:
        return "not usable", str(err)
    except Exception as err:  # noqa: BLE001 - informs only; the connection attempt reports it in the step
        return "not usable", f"Snowflake sign-in cannot be checked ({type(err).__name__})"
    return auth.describe() + (f", key {fingerprint}" if fingerprint else ""), None


class SnowflakeWarehouseResource(dg.ConfigurableResource):
    """The warehouse (SNOWFLAKE_* variables), through dagster-snowflake's own `SnowflakeResource` and the
    connector. The sign-in (exactly one of SNOWFLAKE_PRIVATE_KEY_PATH, SNOWFLAKE_PRIVATE_KEY, SNOWFLAKE_PASSWORD,
    or SNOWFLAKE_AUTHENTICATOR) is chosen, and a private key loaded and checked, when a step first connects,
    not when the definitions load: the code location loads with no variable set (CI, `dg check defs`, the
    UI's graph while a secret is rotated, the schedule and sensors ticking).

    The credential is read from the run's environment at that moment and handed to a `SnowflakeResource`
    built in the step: it is never a config value, so the UI never shows it. The non-secret fields are
    `EnvVar`s resolved when the run starts, as before."""

    account: str
    user: str
    database: str
    schema_name: str = Field(description="SNOWFLAKE_SCHEMA")
    warehouse: str
    role: str
    additional_snowflake_connection_args: dict[str, Any] = Field(
        description="connector arguments: qmark binding, timeouts, a local server's host/port/protocol"
    )
    _connected_as: SnowflakeResource | None = PrivateAttr(default=None)

    def signed_in(self, environ: Mapping[str, str] | None = None) -> SnowflakeResource:
        """dagster-snowflake's resource with the credential the environment gives now, built once per
        resource (one run, or one step's process); a SnowflakeSignInError names what is wrong."""
        if self._connected_as is None:
            environ = os.environ if environ is None else environ
            try:
                auth, _ = checked_auth(environ)
            except SnowflakeAuthError as err:
                raise SnowflakeSignInError(str(err)) from None
            sign_in: dict[str, object] = {}
            if auth.method == KEY_PAIR:
                field_name = "private_key_path" if auth.variable == PRIVATE_KEY_PATH else "private_key"
                sign_in[field_name] = environ[auth.variable]
                if auth.encrypted:
                    sign_in["private_key_password"] = environ[PASSPHRASE]
            elif auth.method == PASSWORD_METHOD:
                sign_in["password"] = environ[PASSWORD]
            if auth.authenticator:
                sign_in["authenticator"] = auth.authenticator
            self._connected_as = SnowflakeResource(
                account=self.account,
                user=self.user,
                database=self.database,
                schema=self.schema_name,
                warehouse=self.warehouse,
                role=self.role,
                **sign_in,
                additional_snowflake_connection_args=self.additional_snowflake_connection_args,
            )
        return self._connected_as

    @contextmanager
    def get_connection(self) -> Iterator[Any]:
        """A connector connection, as `SnowflakeResource.get_connection()` gives it (what `Warehouse` uses)."""
        with self.signed_in().get_connection() as conn:
            yield conn


_WARNED: set[str] = set()


def snowflake_resource(environ: Mapping[str, str], settings: Settings) -> SnowflakeWarehouseResource:
    """The warehouse resource. Its sign-in is checked here only to say what it is, or what is wrong, in the
    resource's description (the UI's resource page) and in a warning when the definitions load: a location
    with a bad key must say so before a run fails. Nothing here raises; the step raises."""
    signed_in, problem = sign_in_status(environ)
    if problem and problem not in _WARNED:
        _WARNED.add(problem)  # once per process: a CLI may build the definitions more than once
        log.warning("%s: every step that needs Snowflake will fail until it is fixed (`etl-platform health`)", problem)
    if problem:
        state = f"SIGN-IN PROBLEM: {problem}. Every step that needs Snowflake fails until it is fixed."
    else:
        state = f"Sign-in when the definitions loaded: {signed_in}."
    resource_class = type(
        SnowflakeWarehouseResource.__name__,
        (SnowflakeWarehouseResource,),
        # Dagster shows a resource's docstring as its description: this instance's says how it signs in.
        {"__doc__": f"{state}\n\n{inspect.cleandoc(SnowflakeWarehouseResource.__doc__ or '')}", "__module__": __name__},
    )
    return resource_class(
        account=dg.EnvVar("SNOWFLAKE_ACCOUNT"),
        user=dg.EnvVar("SNOWFLAKE_USER"),
        database=dg.EnvVar("SNOWFLAKE_DATABASE"),
        schema_name=dg.EnvVar("SNOWFLAKE_SCHEMA"),
        warehouse=dg.EnvVar("SNOWFLAKE_WAREHOUSE"),
        role=dg.EnvVar("SNOWFLAKE_ROLE"),
        # SnowflakeResource has no host/port/protocol fields; the connector takes them as extra args.
        additional_snowflake_connection_args=connection_args_from_env(
            environ, settings.snowflake_statement_timeout_seconds, settings.snowflake_lock_timeout_seconds
        ),
    )


def build_resources(settings: Settings, environ: Mapping[str, str]) -> dict[str, dg.ConfigurableResource]:
    return {
        "snowflake": snowflake_resource(environ, settings),
        "idicore": IdiCoreResource(
            auth_url=dg.EnvVar("IDICORE_AUTH_URL"),
            search_url=dg.EnvVar("IDICORE_SEARCH_URL"),
            client_id=dg.EnvVar("IDICORE_CLIENT_ID"),
            client_secret=dg.EnvVar("IDICORE_CLIENT_SECRET"),
            concurrency=settings.idicore_concurrency,
            rate_limit=settings.idicore_rate_limit,
            **_call_fields(settings, LEAD_CONTACTS.vendor),
        ),
        "ccc": CccResource(
            url=dg.EnvVar("CCC_LITIGATOR_URL"),
            login_id=dg.EnvVar("CCC_LOGIN_ID"),
            batch_size=settings.ccc_batch_size,
            **_call_fields(settings, LITIGATOR_SCRUB.vendor),
        ),
        "dnc": DncRegistryResource(
            registry_path=dg.EnvVar("DNC_REGISTRY_PATH"),
            source_dir=dg.EnvVar("DNC_SOURCE_DIR"),
            batch_size=settings.dnc_batch_size,
        ),
    }
