"""The project's resources, built from the Settings and the environment.

Credentials and endpoints are `dg.EnvVar`s: Dagster resolves them when a run starts and never shows their
values in the UI. Tuning knobs come from `Settings` (read once when the definitions load), so the UI's
resource view shows the values a run will use.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from pathlib import Path

import dagster as dg
from pydantic import Field, PrivateAttr

from etl_platform.adapters.dnc_store import DncStore
from etl_platform.adapters.snowflake_keys import checked_auth
from etl_platform.adapters.vendors.ccc import CccClient
from etl_platform.adapters.vendors.idicore import IdiCoreClient
from etl_platform.adapters.warehouse import connection_args_from_env
from etl_platform.core.settings import Settings, VendorCallPolicy
from etl_platform.core.snowflake_auth import KEY_PAIR, PASSPHRASE, PASSWORD, PASSWORD_METHOD, PRIVATE_KEY_PATH
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


def snowflake_resource(environ: Mapping[str, str], settings: Settings) -> SnowflakeResource:
    """The dagster-snowflake resource signing in with the one method the environment sets (key-pair,
    password or programmatic access token, or an authenticator). A private key is loaded and checked here,
    when the definitions load, so a wrong passphrase is one clear error now, not a misleading one at the
    first connection. Secrets stay `EnvVar`s: resolved in the run, never shown in the UI."""
    auth, _ = checked_auth(environ)
    sign_in: dict[str, object] = {}
    if auth.method == KEY_PAIR:
        field_name = "private_key_path" if auth.variable == PRIVATE_KEY_PATH else "private_key"
        sign_in[field_name] = dg.EnvVar(auth.variable)
        if auth.encrypted:
            sign_in["private_key_password"] = dg.EnvVar(PASSPHRASE)
    elif auth.method == PASSWORD_METHOD:
        sign_in["password"] = dg.EnvVar(PASSWORD)
    if auth.authenticator:
        sign_in["authenticator"] = auth.authenticator
    return SnowflakeResource(
        account=dg.EnvVar("SNOWFLAKE_ACCOUNT"),
        user=dg.EnvVar("SNOWFLAKE_USER"),
        database=dg.EnvVar("SNOWFLAKE_DATABASE"),
        schema=dg.EnvVar("SNOWFLAKE_SCHEMA"),
        warehouse=dg.EnvVar("SNOWFLAKE_WAREHOUSE"),
        role=dg.EnvVar("SNOWFLAKE_ROLE"),
        **sign_in,
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
