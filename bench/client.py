"""Benchmark 4: the idiCORE client's ceiling and how close a rate-limited stage gets to its limit.

The client (`IdiCoreClient.search_many`: asyncio + httpx, aiolimiter, tenacity, pybreaker) runs in this
process; the idiCORE sandbox runs in its own process, as behind `make run`, so on 2 cores each side has
a core. The ceiling is searches per second against a zero-latency sandbox with no rate limit; the
client's CPU time per search says what the client alone could do with a core to itself.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from bench.harness import BenchResult, Target
from bench.pipeline import BENCH_DAY
from bench.stack import ZERO_LATENCY, BenchStack
from etl_platform.adapters.vendors.idicore import IdiCoreClient
from etl_platform.core.contacts import PersonQuery
from etl_platform.core.settings import Settings

CEILING_SEARCHES = 2_000
CONCURRENCIES = (8, 16, 32, 64)
LIMITED = {"rate_limit": 50.0, "latency_ms": 250.0, "concurrency": 16, "searches": 400}


def _queries(stack: BenchStack, count: int) -> list[PersonQuery]:
    leads = stack.sandbox.world.leads_for_day(BENCH_DAY, count, with_resends=False)
    return [
        PersonQuery(
            lead_id=lead["LEAD_ID"],
            first_name=lead["FIRST_NAME"] or "X",
            last_name=lead["LAST_NAME"] or "Y",
            address=lead["ADDRESS"] or "1 Main St",
            city=lead["CITY"],
            state=lead["STATE"],
            zip=lead["ZIP"] or "10001",
        )
        for lead in leads[:count]
    ]


def _client(stack: BenchStack, concurrency: int, rate_limit: float) -> IdiCoreClient:
    env = stack.env
    return IdiCoreClient(
        auth_url=env["IDICORE_AUTH_URL"],
        search_url=env["IDICORE_SEARCH_URL"],
        client_id=env["IDICORE_CLIENT_ID"],
        client_secret=env["IDICORE_CLIENT_SECRET"],
        concurrency=concurrency,
        rate_limit=rate_limit,
        policy=Settings().call_policy("idicore"),
    )


def _timed(client: IdiCoreClient, queries: list[PersonQuery]) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds) for one search_many."""
    cpu0, t0 = time.process_time(), time.perf_counter()
    results = asyncio.run(client.search_many(queries))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    failed = [r for r in results if r.status == "failed"]
    if failed:
        raise RuntimeError(f"{len(failed)} searches failed in the client benchmark: {failed[0].reason}")
    return wall, cpu


def _configure(stack: BenchStack, **changes) -> None:
    base = stack.env["IDICORE_AUTH_URL"].rsplit("/", 1)[0]
    httpx.post(f"{base}/_sandbox/config", json=changes, timeout=5).raise_for_status()


def bench_client(repeats: int) -> BenchResult:
    result = BenchResult("client", "4. idiCORE client: ceiling (zero latency) and utilisation of a rate limit")
    with BenchStack(ZERO_LATENCY, BENCH_DAY, 0) as stack:
        queries = _queries(stack, CEILING_SEARCHES)
        unlimited = 1e9
        _timed(_client(stack, 16, unlimited), queries[:200])  # warm-up: imports, first connections
        for concurrency in CONCURRENCIES:
            runs = [_timed(_client(stack, concurrency, unlimited), queries) for _ in range(repeats)]
            result.add(f"ceiling, concurrency {concurrency}", "searches/s", [len(queries) / w for w, _ in runs])
            result.add(
                f"  client CPU per search, concurrency {concurrency}", "us", [c / len(queries) * 1e6 for _, c in runs]
            )

        limit, latency = LIMITED["rate_limit"], LIMITED["latency_ms"]
        _configure(stack, latency_ms=latency, rate_limit=limit)
        wanted = queries[: LIMITED["searches"]]
        runs = []
        for _ in range(repeats):
            time.sleep(1.5)  # let the sandbox's bucket refill, as between two runs
            runs.append(_timed(_client(stack, LIMITED["concurrency"], limit), wanted)[0])
        bound = len(wanted) / limit
        result.add(f"{len(wanted)} searches at {limit:g}/s, {latency:g} ms", "s", runs)
        result.add("  limit-bound time (searches / limit)", "s", [bound])
        result.add("  utilisation (limit-bound / measured)", "ratio", [bound / w for w in runs])
        result.add("  sustained rate", "searches/s", [len(wanted) / w for w in runs])
    result.context = {
        "ceiling_searches": CEILING_SEARCHES,
        "sandbox": "own process, zero latency, no rate limit",
        "limited": f"{limit:g}/s, {latency:g} ms, concurrency {LIMITED['concurrency']}",
    }
    result.targets = [Target("rate-limited utilisation >= 0.9", "  utilisation (limit-bound / measured)", 0.9, True)]
    return result
