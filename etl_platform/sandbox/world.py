"""The sandbox's deterministic synthetic world: people, their phones, litigators and the DNC registry.

Every server in the sandbox derives its answers from the same seed, so the idiCORE sandbox, the CCC
sandbox, the registry files and the seeded LEADS table agree without sharing state: who a person is
follows from a hash of their normalised name and ZIP.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass, field
from functools import cached_property

from faker import Faker

# The CCC documentation's test numbers.
CCC_LITIGATOR_TEST_NUMBERS = ("2675466417", "5039367187")
CCC_CLEAR_TEST_NUMBER = "7075276405"

# Area codes the sample registry covers; phones in UNCOVERED ones must come out `unknown` at DNC.
COVERED_AREA_CODES = ("201", "267", "415", "503", "707", "212")
UNCOVERED_AREA_CODES = ("312",)
POOL_PER_AREA_CODE = 400
REGISTRY_FILLER_PER_AREA_CODE = 2000

EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
STATES = ("PA", "NJ", "NY", "CA", "OR", "IL", "TX", "FL", "WA", "MA")


def _h(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")


def person_key(first: str, last: str, zip_code: str) -> str:
    return "|".join(s.strip().upper() for s in (first or "", last or "", (zip_code or "")[:5]))


@dataclass(frozen=True)
class SandboxPhone:
    number: str  # 10 digits
    display: str  # as idiCORE returns it: sometimes punctuated
    type: str
    disconnected: bool
    rank: int
    first_seen: int
    last_seen: int


@dataclass(frozen=True)
class SandboxPerson:
    phones: tuple[SandboxPhone, ...]
    emails: tuple[tuple[str, int], ...]


@dataclass
class World:
    seed: int = 7
    # Numbers per area code that people's phones are drawn from. Small by default so the tests' days
    # share numbers across leads; the scale benchmark raises it so 100,000 leads have ~170,000 distinct
    # phones, as a real feed would.
    pool_per_area_code: int = POOL_PER_AREA_CODE
    _cache: dict = field(default_factory=dict, repr=False)

    # --- phones -----------------------------------------------------------------------------------
    @cached_property
    def pool(self) -> list[str]:
        rng = random.Random(_h("pool", self.seed))
        numbers: list[str] = []
        for area in COVERED_AREA_CODES + UNCOVERED_AREA_CODES:
            seen: set[str] = set()
            while len(seen) < self.pool_per_area_code:
                exchange = rng.randint(200, 999)
                line = rng.randint(0, 9999)
                if exchange == 555 or exchange % 100 == 11:
                    continue
                seen.add(f"{area}{exchange:03d}{line:04d}")
            numbers.extend(sorted(seen))
        return numbers

    def is_litigator(self, phone: str) -> bool:
        if phone in CCC_LITIGATOR_TEST_NUMBERS:
            return True
        if phone == CCC_CLEAR_TEST_NUMBER:
            return False
        return _h("litigator", self.seed, phone) % 25 == 0

    def is_dnc_listed(self, phone: str) -> bool:
        if phone == CCC_CLEAR_TEST_NUMBER or phone[:3] not in COVERED_AREA_CODES:
            return False
        return _h("dnc", self.seed, phone) % 5 == 0

    def registry_numbers(self, area_code: str) -> list[str]:
        """The 7-digit numbers of one area code's registry file: listed pool numbers plus filler."""
        listed = {p[3:] for p in self.pool if p[:3] == area_code and self.is_dnc_listed(p)}
        rng = random.Random(_h("filler", self.seed, area_code))
        pool_lines = {p[3:] for p in self.pool if p[:3] == area_code}
        while len(listed) < REGISTRY_FILLER_PER_AREA_CODE:
            candidate = f"{rng.randint(200, 999):03d}{rng.randint(0, 9999):04d}"
            if candidate not in pool_lines:  # filler must not change the pool's verdicts
                listed.add(candidate)
        return sorted(listed)

    # --- people -----------------------------------------------------------------------------------
    def person(self, first: str, last: str, zip_code: str) -> SandboxPerson | None:
        """idiCORE's best match for a query, or None when idiCORE finds nobody."""
        key = person_key(first, last, zip_code)
        if key in self._cache:
            return self._cache[key]
        rng = random.Random(_h("person", self.seed, key))
        if rng.random() < 0.08:
            self._cache[key] = None
            return None
        count = rng.choice((0, 1, 2, 2, 3, 3, 4, 5))
        numbers = rng.sample(self.pool, count)
        roll = rng.random()
        if roll < 0.05:
            numbers.insert(0, rng.choice(CCC_LITIGATOR_TEST_NUMBERS))
        elif roll < 0.10:
            numbers.insert(0, CCC_CLEAR_TEST_NUMBER)
        phones = []
        for rank, number in enumerate(numbers, start=1):
            style = rng.randint(0, 3)
            display = {
                0: number,
                1: f"({number[:3]}) {number[3:6]}-{number[6:]}",
                2: f"{number[:3]}-{number[3:6]}-{number[6:]}",
                3: f"1{number}",
            }[style]
            first_seen = 20150101 + rng.randint(0, 8) * 10000
            phones.append(
                SandboxPhone(
                    number=number,
                    display=display,
                    type=rng.choice(("Mobile", "Landline", "VoIP")),
                    # rank 1 stays connected so most people keep at least one usable phone
                    disconnected=rank > 1 and rng.random() < 0.15,
                    rank=rank,
                    first_seen=first_seen,
                    last_seen=20250101 + rng.randint(0, 9) * 100,
                )
            )
        local = f"{first}.{last}".lower().replace(" ", "") or "someone"
        emails = tuple(
            (f"{local}{rng.randint(1, 999)}@{rng.choice(EMAIL_DOMAINS)}", rank)
            for rank in range(1, rng.randint(0, 4) + 1)
        )
        person = SandboxPerson(tuple(phones), emails)
        self._cache[key] = person
        return person

    # --- leads ------------------------------------------------------------------------------------
    @cached_property
    def names(self) -> dict[str, list[str]]:
        """Faker-made names and places, drawn from per lead: calling Faker for every field of every lead
        cost ~0.6 ms a lead (a minute for a 100,000-lead benchmark day); drawing from pools costs ~5 us."""
        fake = Faker("en_US")
        fake.seed_instance(_h("faker", self.seed))
        return {
            "first": sorted({fake.first_name() for _ in range(3000)}),
            "last": sorted({fake.last_name() for _ in range(3000)}),
            "street": [fake.street_address() for _ in range(4000)],
            "city": [fake.city() for _ in range(1500)],
        }

    def leads_for_day(self, day: dt.date, count: int, *, with_resends: bool = True) -> list[dict]:
        """The LEADS rows created on `day`: mostly valid, a few invalid, a few duplicated, and a few
        re-sent from the previous day (same LEAD_ID), as a real lead feed has."""
        rng = random.Random(_h("leads", self.seed, day.isoformat()))
        names = self.names
        start = dt.datetime.combine(day, dt.time())
        rows: list[dict] = []
        for i in range(count):
            first, last = rng.choice(names["first"]), rng.choice(names["last"])
            row = {
                "LEAD_ID": f"L{day:%Y%m%d}-{i:06d}",
                "FIRST_NAME": first,
                "LAST_NAME": last,
                "ADDRESS": rng.choice(names["street"]),
                "CITY": rng.choice(names["city"]),
                "STATE": rng.choice(STATES),
                "ZIP": f"{rng.randint(1001, 99950):05d}",
                "EMAIL": f"{first}.{last}{rng.randint(1, 999)}@{rng.choice(EMAIL_DOMAINS)}".lower().replace(" ", "")
                if rng.random() < 0.7
                else None,
                "CREATED_AT": start + dt.timedelta(seconds=rng.randint(0, 86399)),
            }
            # Fixed positions, so every day has each kind of bad row for the tests to find.
            flaw = i % 50
            if flaw == 5:
                row["LAST_NAME"] = None
            elif flaw == 15:
                row["STATE"] = "ZZ"
            elif flaw == 25:
                row["ZIP"] = "12"
            elif flaw == 35:
                row["ADDRESS"], row["ZIP"] = None, None  # too broad for idiCORE: TooManyMatches
            rows.append(row)
        # exact duplicates of a few rows (the feed re-sends within a day)
        for row in rng.sample(rows, max(1, count // 50)) if rows else []:
            dup = dict(row)
            dup["CREATED_AT"] = row["CREATED_AT"] + dt.timedelta(seconds=1)
            if dup["CREATED_AT"].date() == day:
                rows.append(dup)
        if with_resends and count:
            previous = self.leads_for_day(day - dt.timedelta(days=1), count, with_resends=False)
            for row in rng.sample(previous, max(1, count // 40)):
                resend = dict(row)
                resend["CREATED_AT"] = start + dt.timedelta(seconds=rng.randint(0, 86399))
                rows.append(resend)
        rows.sort(key=lambda r: (r["CREATED_AT"], r["LEAD_ID"]))
        return rows
