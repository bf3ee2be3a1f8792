"""Benchmark 4: the idiCORE client's ceiling and how close a rate-limited stage gets to its limit.

The client (`IdiCoreClient.search_many`: asyncio + aiohttp, its own pacer, tenacity, pybreaker) runs in
this process; the idiCORE sandbox runs in its own process, as behind `make run`, so on 2 cores each side
has a core. The ceiling is searches per second against a zero-latency sandbox with no rate limit; the
client's CPU time per search (this process's, not the wall) says what the client alone could do with a
core to itself.

The "HTTP stack" figures are how the stack was chosen: the same search POSTs and JSON decoding, nothing
else, through httpx and aiohttp, each on asyncio's loop and on uvloop.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import httpx
import uvloop

from bench.harness import BenchResult, Target
from bench.pipeline import BENCH_DAY
from bench.stack import ZERO_LATENCY, BenchStack
from etl_platform.adapters.vendors.idicore import IdiCoreClient, search_body
from etl_platform.core.contacts import PersonQuery
from etl_platform.core.settings import Settings

CEILING_SEARCHES = 2_000
CONCURRENCIES = (8, 16, 32, 64)
# The strict sliding one-second window, as a vendor that enforces its rate without a burst allowance.
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


async def _httpx_posts(url: str, token: str, bodies: list[dict], concurrency: int) -> None:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        pending = iter(bodies)

        async def worker() -> None:
            for body in pending:
                (await http.post(url, json=body, headers={"Authorization": token})).json()

        await asyncio.gather(*[worker() for _ in range(concurrency)])


async def _aiohttp_posts(url: str, token: str, bodies: list[dict], concurrency: int) -> None:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as http:
        pending = iter(bodies)

        async def worker() -> None:
            for body in pending:
                async with http.post(url, json=body, headers={"Authorization": token}) as response:
                    await response.json()

        await asyncio.gather(*[worker() for _ in range(concurrency)])


HTTP_STACKS = {"httpx": _httpx_posts, "aiohttp": _aiohttp_posts}
LOOPS = {"asyncio": asyncio.run, "uvloop": uvloop.run}


def _stack_cpu_per_request(stack: BenchStack, library: str, loop: str, bodies: list[dict]) -> float:
    env = stack.env
    token = httpx.post(
        env["IDICORE_AUTH_URL"],
        auth=(env["IDICORE_CLIENT_ID"], env["IDICORE_CLIENT_SECRET"]),
        json={"glba": "otheruse", "dppa": "none"},
    ).text.strip()
    cpu0 = time.process_time()
    LOOPS[loop](HTTP_STACKS[library](env["IDICORE_SEARCH_URL"], token, bodies, 8))
    return (time.process_time() - cpu0) / len(bodies) * 1e6


def _configure(stack: BenchStack, **changes) -> None:
    base = stack.env["IDICORE_AUTH_URL"].rsplit("/", 1)[0]
    httpx.post(f"{base}/_sandbox/config", json=changes, timeout=5).raise_for_status()


def bench_client(repeats: int) -> BenchResult:
    result = BenchResult("client", "4. idiCORE client: ceiling (zero latency) and utilisation of a rate limit")
    with BenchStack(ZERO_LATENCY, BENCH_DAY, 0) as stack:
        queries = _queries(stack, CEILING_SEARCHES)
        unlimited = 1e9
        bodies = [search_body(q) for q in queries]
        for library in HTTP_STACKS:
            for loop in LOOPS:
                _stack_cpu_per_request(stack, library, loop, bodies[:200])  # warm-up
                runs = [_stack_cpu_per_request(stack, library, loop, bodies) for _ in range(repeats)]
                result.add(f"HTTP stack: {library} on {loop}, client CPU per request", "us", runs)
        _timed(_client(stack, 16, unlimited), queries[:200])  # warm-up: imports, first connections
        for concurrency in CONCURRENCIES:
            runs = [_timed(_client(stack, concurrency, unlimited), queries) for _ in range(repeats)]
            result.add(f"ceiling, concurrency {concurrency}", "searches/s", [len(queries) / w for w, _ in runs])
            result.add(
                f"  client CPU per search, concurrency {concurrency}", "us", [c / len(queries) * 1e6 for _, c in runs]
            )

        limit, latency = LIMITED["rate_limit"], LIMITED["latency_ms"]
        _configure(stack, latency_ms=latency, rate_limit=limit, rate_mode="window")
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
    result.targets = [
        Target("client CPU <= 1 ms per search (concurrency 8)", "  client CPU per search, concurrency 8", 1000),
        Target("rate-limited utilisation >= 0.9", "  utilisation (limit-bound / measured)", 0.9, True),
    ]
    return result
