"""The local National Do Not Call registry store (DuckDB) and the FTC file loader.

The store holds the listed numbers and, per area code, the date of the registry copy they came from. A
look-up is `clear` only when the area code is covered by a copy at most 31 days old (16 CFR
310.4(b)(3)) and the number is not listed; anything else is `unknown` with the reason, or `listed`.

Loads build a new database file and swap it in with an atomic rename, so scrubs that are reading the
previous copy (another run, another process) are never blocked or shown a half-loaded registry; a load that
fails leaves the previous store as it was. When the only new files in the source folder are change lists
dated after every change list the store already holds, the load is incremental: it copies the store, applies
just those lists (additions and deletions, per area code) and swaps the copy in, with the same result as a
full rebuild of the folder. Anything else (a new or replaced full list, a removed file, a change list older
than one already applied) rebuilds from all the files.

Look-ups read a bitmap index derived from the store (adapters/dnc_index.py; one bit per possible number of an
area code), written beside it for every load as `<store>.<fingerprint>.bits` before the store is swapped in.
A look-up reads the index named by the fingerprint of the store it opened, so a scrub never pairs one copy's
coverage with another copy's numbers (a forced rebuild of unchanged files rewrites the same name with the same
bits); the previous load's index is kept for scrubs still reading the previous store. A store whose index is
missing or damaged answers `unknown` (registry_index_missing) for every phone and does not count as up to date,
so the next load (materialize `dnc_registry`) writes the index again.

Every SQL statement and expression the store runs is a file under `sql/dnc/`, each file's header
comment saying what it does and what its `?` parameters are.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import os
import re
import shutil
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl_platform.adapters.dnc_index import LOCALS, DncIndex, IndexDamaged, pack, write_index
from etl_platform.adapters.sql_files import sql, statements
from etl_platform.core.verdict import Dnc, ScrubOutcome, outcomes_by_phone

if TYPE_CHECKING:
    import duckdb

REGISTRY_VALID_DAYS = 31
# DuckDB's buffer pool for loads and updates. Its default is 80% of the machine's memory, and a load's
# DISTINCT ... ORDER BY over every number takes what it is given; with a limit it spills to <staging file>.tmp
# instead. Issue 16 budgets 2 GiB for the loading process at national scale: 1 GB for DuckDB leaves room for
# Python, pandas and pyarrow (about 150 MiB) and DuckDB's allocations outside the pool.
LOAD_MEMORY_LIMIT = "1GB"
_DATE_IN_NAME = re.compile(r"(20\d{2})-?(\d{2})-?(\d{2})")


def _expression(name: str) -> str:
    """An expression file (a select list or a condition, not a statement) without its header comment.

    project() and filter() splice the text into SQL they write themselves; whether a `--` comment survives that
    depends on how the DuckDB build splices, so only the expression is passed."""
    lines = sql(name).strip().splitlines()
    while lines and (not lines[0].strip() or lines[0].lstrip().startswith("--")):
        lines.pop(0)
    return "\n".join(lines)


class RegistryFileParser(Protocol):
    """Turns one registry file into a DuckDB relation of 10-digit numbers (column `phone` BIGINT).

    The FTC's change-list layout is not public, so parsers are pluggable: pass another one to `load`."""

    def relation(self, conn: duckdb.DuckDBPyConnection, path: Path) -> duckdb.DuckDBPyRelation: ...


class FullListParser:
    """FTC full-list lines `AAA,NNNNNNN`, or a bare 10-digit number per line. Other lines are rejected
    (counted, not loaded)."""

    def relation(self, conn: duckdb.DuckDBPyConnection, path: Path) -> duckdb.DuckDBPyRelation:
        raw = conn.read_csv(
            str(path),
            header=False,
            columns={"a": "VARCHAR", "b": "VARCHAR"},
            sep=",",
            null_padding=True,
            ignore_errors=True,
            # The columns are given: DuckDB's sniffer would otherwise reject a file whose every line has fewer
            # fields (only bare 10-digit numbers) instead of padding them with NULL.
            auto_detect=False,
        )
        return raw.project(_expression("dnc/parse_full_list"))


class ChangeListParser(Protocol):
    """Recognises change-list files and turns one into a relation (phone BIGINT, action 'A' | 'D')."""

    def matches(self, path: Path) -> bool: ...

    def relation(self, conn: duckdb.DuckDBPyConnection, path: Path) -> duckdb.DuckDBPyRelation: ...


class SimpleChangeListParser:
    """The FTC does not publish its change-list layout; until it is known, files whose name contains
    "change" hold lines `A,AAA,NNNNNNN` (addition) or `D,AAA,NNNNNNN` (deletion), or `A,NNNNNNNNNN`.
    Swap this class for the real layout: `DncStore(path).load(source, change_parser=...)`."""

    def matches(self, path: Path) -> bool:
        return "change" in path.name.lower()

    def relation(self, conn: duckdb.DuckDBPyConnection, path: Path) -> duckdb.DuckDBPyRelation:
        raw = conn.read_csv(
            str(path),
            header=False,
            columns={"op": "VARCHAR", "a": "VARCHAR", "b": "VARCHAR"},
            sep=",",
            null_padding=True,
            ignore_errors=True,
            # The columns are given: DuckDB's sniffer would otherwise reject a file whose every line has fewer
            # fields (only bare 10-digit numbers) instead of padding them with NULL.
            auto_detect=False,
        )
        return raw.project(_expression("dnc/parse_change_list")).filter(_expression("dnc/change_list_rows"))


@dataclass(frozen=True)
class AreaCodeCopy:
    area_code: str
    copy_date: dt.date
    numbers: int
    rejected_lines: int
    source_file: str


@dataclass(frozen=True)
class LoadReport:
    changed: bool
    numbers: int
    area_codes: tuple[AreaCodeCopy, ...]
    seconds: float
    fingerprint: str
    # "full" rebuild, "incremental" (change lists applied to the store), "unchanged", or "index" (unchanged
    # files, but the look-up index was missing or damaged and was written again)
    mode: str = "full"
    applied: tuple[str, ...] = ()  # the change lists an incremental load applied


def copy_date_of(path: Path) -> dt.date:
    """The registry copy's date: a YYYY-MM-DD/YYYYMMDD in the file name, else the file's mtime (UTC)."""
    if match := _DATE_IN_NAME.search(path.name):
        try:
            return dt.date(*map(int, match.groups()))
        except ValueError:
            pass
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).date()


def _stat_key(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def _file_keys(files: Sequence[Path]) -> list[tuple[str, int, int]]:
    """(name, size, mtime in ns) per file: what the fingerprint is made of, and what `files` records."""
    return [(f.name, *_stat_key(f)) for f in files]


def _digest(keys: Sequence[tuple[str, int, int]]) -> str:
    digest = hashlib.sha256()
    for name, size, mtime_ns in keys:
        digest.update(f"{name}|{size}|{mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _fingerprint(files: Sequence[Path]) -> str:
    return _digest(_file_keys(files))


def _ints(area_codes: Iterable[str]) -> list[int]:
    return sorted(int(a) for a in area_codes)


@dataclass
class DncStore:
    path: Path
    memory_limit: str = LOAD_MEMORY_LIMIT  # DuckDB's buffer pool while loading

    # --- loading ----------------------------------------------------------------------------------
    @staticmethod
    def registry_files(source_dir: Path) -> list[Path]:
        return sorted(p for p in Path(source_dir).glob("*") if p.is_file() and not p.name.startswith("."))

    def source_fingerprint(self, source_dir: Path) -> str:
        return _fingerprint(self.registry_files(source_dir))

    def load(
        self,
        source_dir: Path,
        parser: RegistryFileParser | None = None,
        force: bool = False,
        change_parser: ChangeListParser | None = None,
    ) -> LoadReport:
        """Bring the store up to the files in `source_dir`: nothing when they are the files it holds, only the
        new change lists when nothing else changed (see the module's docstring), else a full rebuild (`force`
        always rebuilds).

        Loads of the same store take turns (an exclusive lock on `<store>.lock`): two at once could copy one
        store and take the unchanged area codes' bitmaps from another's index, and a number added in between
        would read as not listed. Nothing stops two `dnc_registry` runs at once (the sensor, a manual run)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(f"{self.path.name}.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                # An index a killed load was writing (up to 400 MB nationally): no other load is running now.
                for partial in self.path.parent.glob(f"{self.path.name}.*.bits.tmp-*"):
                    partial.unlink(missing_ok=True)
                return self._load(source_dir, parser, force, change_parser)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _load(
        self,
        source_dir: Path,
        parser: RegistryFileParser | None,
        force: bool,
        change_parser: ChangeListParser | None,
    ) -> LoadReport:
        started = time.perf_counter()
        parser = parser or FullListParser()
        change_parser = change_parser or SimpleChangeListParser()
        files = self.registry_files(source_dir)
        if not files:
            raise FileNotFoundError(f"no registry files in DNC_SOURCE_DIR ({source_dir})")
        # Taken once, before any file is read: a file that changes during the load changes the fingerprint
        # the next load sees, so that load does not take the store for up to date.
        keys = _file_keys(files)
        fingerprint = _digest(keys)
        added = None
        previous = self._stored_fingerprint()
        if not force and previous is not None:
            if previous == fingerprint:
                mode = "unchanged"
                if self._index(fingerprint) is None:  # e.g. a store from before the index, or an index deleted
                    with self._connect() as conn:
                        self._write_index(conn, fingerprint, [c.area_code for c in self.coverage()])
                    mode = "index"
                return LoadReport(
                    mode == "index",
                    self.count(),
                    tuple(self.coverage()),
                    time.perf_counter() - started,
                    fingerprint,
                    mode,
                )
            added = self._added_change_lists(files, keys, change_parser)

        staging = self.path.with_suffix(f".loading-{os.getpid()}")
        self._remove(staging)
        try:
            if added is not None:
                shutil.copyfile(self.path, staging)  # readers keep the store; the copy is changed and swapped in
            with self._connect_for_writing(staging) as conn:
                if added is None:
                    for name in ("dnc/create_coverage", "dnc/create_meta", "dnc/create_files"):
                        conn.execute(sql(name))
                    copies = self._read_full_lists(conn, [f for f in files if not change_parser.matches(f)], parser)
                    change_lists = [f for f in files if change_parser.matches(f)]
                    recount = set(copies)
                else:
                    copies = {row[0]: AreaCodeCopy(*row) for row in conn.execute(sql("dnc/coverage")).fetchall()}
                    change_lists, recount = added, set()
                    # the store this copy was made from, whose index holds the unchanged area codes' bitmaps
                    copied_from = conn.execute(sql("dnc/fingerprint")).fetchall()[0][0]
                for f in sorted(change_lists, key=copy_date_of):  # stable: same-day lists in name order
                    recount |= self._apply_changes(conn, f, change_parser, copies)
                if recount:
                    counts = dict(conn.execute(sql("dnc/count_by_area"), [_ints(recount)]).fetchall())
                    copies.update({a: replace(copies[a], numbers=counts.get(a, 0)) for a in recount})
                self._write_catalog(conn, copies.values(), keys, fingerprint)
                count = conn.execute(sql("dnc/count_numbers")).fetchone()[0]
                # Unchanged area codes' bitmaps are copied from the copied store's index (an incremental load).
                reuse = self._index(copied_from) if added is not None else None
                self._write_index(conn, fingerprint, list(copies), reuse=reuse, changed=recount)
            os.replace(staging, self.path)
        finally:
            self._remove(staging)  # after a failure; after the swap there is nothing left to remove
        self._remove_indexes(keep={fingerprint, previous})
        return LoadReport(
            True,
            count,
            tuple(sorted(copies.values(), key=lambda c: c.area_code)),
            time.perf_counter() - started,
            fingerprint,
            "full" if added is None else "incremental",
            tuple(f.name for f in added or ()),
        )

    # --- the look-up index ------------------------------------------------------------------------
    def index_path(self, fingerprint: str) -> Path:
        return self.path.with_name(f"{self.path.name}.{fingerprint}.bits")

    def _index(self, fingerprint: str | None) -> DncIndex | None:
        """The index written for the store with this fingerprint, or None when it is missing or damaged."""
        if fingerprint is None:
            return None
        try:
            return DncIndex(self.index_path(fingerprint))
        except (FileNotFoundError, IndexDamaged):
            return None

    def _write_index(
        self,
        conn,
        fingerprint: str,
        area_codes: Iterable[str],
        reuse: DncIndex | None = None,
        changed: set[str] = frozenset(),
    ) -> None:
        """One bitmap per covered area code, from `numbers` (or copied from `reuse` where nothing changed)."""
        reusable = set(reuse.area_codes()) if reuse is not None else set()

        def bitmap_of(area: int):
            if area in reusable and str(area) not in changed:
                return reuse.bitmap(area)
            first = area * LOCALS
            local = conn.execute(sql("dnc/area_numbers"), [first, first, first + LOCALS]).fetchnumpy()["local"]
            return pack(local)

        write_index(self.index_path(fingerprint), [int(a) for a in area_codes], bitmap_of)

    def _remove_indexes(self, keep: set[str | None]) -> None:
        """Every index of this store but the current one and the previous load's (scrubs that opened the
        previous store before the swap still read it)."""
        wanted = {self.index_path(f).name for f in keep if f}
        for index in self.path.parent.glob(f"{self.path.name}.*.bits"):
            if index.name not in wanted:
                index.unlink(missing_ok=True)

    @staticmethod
    def _remove(database: Path) -> None:
        database.unlink(missing_ok=True)
        Path(f"{database}.wal").unlink(missing_ok=True)
        shutil.rmtree(f"{database}.tmp", ignore_errors=True)  # DuckDB's spill folder

    def _connect_for_writing(self, path: Path) -> duckdb.DuckDBPyConnection:
        import duckdb  # imported on use: see _connect()

        return duckdb.connect(str(path), config={"memory_limit": self.memory_limit})

    def _added_change_lists(
        self, files: Sequence[Path], keys: Sequence[tuple[str, int, int]], change_parser: ChangeListParser
    ) -> list[Path] | None:
        """The files that are new since the store was built, when all of them are change lists dated after
        every change list the store holds and no file it holds is gone or changed; else None (rebuild).
        Applying only those lists then gives what a rebuild from all the files would."""
        import duckdb

        try:
            with self._connect() as conn:
                held = {name: (size, mtime_ns) for name, size, mtime_ns in conn.execute(sql("dnc/files")).fetchall()}
        except duckdb.Error:  # a store from before the `files` table, or not a store at all
            return None
        current = {f.name: f for f in files}
        now = {name: (size, mtime_ns) for name, size, mtime_ns in keys}
        if any(now.get(name) != key for name, key in held.items()):
            return None
        added = [f for f in files if f.name not in held]
        if not added or not all(change_parser.matches(f) for f in added):
            return None
        applied = [copy_date_of(current[name]) for name in held if change_parser.matches(current[name])]
        if applied and min(copy_date_of(f) for f in added) <= max(applied):
            return None
        return added

    @staticmethod
    def _read_full_lists(conn, full_lists: Sequence[Path], parser: RegistryFileParser) -> dict[str, AreaCodeCopy]:
        """Every full list into `numbers`; per area code, the newest copy wins (on the same date, the first
        file by name). The numbers per area code are counted afterwards, from `numbers`."""
        copies: dict[str, AreaCodeCopy] = {}
        conn.execute(sql("dnc/create_staged"))
        for f in full_lists:
            copy_date = copy_date_of(f)
            conn.execute(sql("dnc/create_one"))
            parser.relation(conn, f).insert_into("one")
            total, good = conn.execute(sql("dnc/count_one")).fetchone()
            areas = [area for (area,) in conn.execute(sql("dnc/area_codes_in_one")).fetchall()]
            # an older full list must not replace a newer one
            newer = [a for a in areas if a not in copies or copies[a].copy_date < copy_date]
            if replaced := [a for a in newer if a in copies]:
                conn.execute(sql("dnc/delete_area_codes"), [_ints(replaced)])
            if newer:
                conn.execute(sql("dnc/insert_area_codes"), [_ints(newer)])
            copies.update({a: AreaCodeCopy(a, copy_date, 0, total - good, f.name) for a in newer})
        for statement in statements("dnc/create_numbers"):
            conn.execute(statement)
        return copies

    @staticmethod
    def _apply_changes(conn, path: Path, parser: ChangeListParser, copies: dict[str, AreaCodeCopy]) -> set[str]:
        """Additions and deletions on top of an older copy bring that area code up to the list's date; the
        other area codes keep their copy and its date. A change list for an area code with no older copy is
        ignored: there is nothing to change. Returns the area codes it applied to."""
        change_date = copy_date_of(path)
        conn.execute(sql("dnc/create_chg"))
        parser.relation(conn, path).insert_into("chg")
        rejected = conn.execute(sql("dnc/count_rejected_changes")).fetchone()[0]
        areas = [area for (area,) in conn.execute(sql("dnc/area_codes_in_chg")).fetchall()]
        applied = {a for a in areas if a in copies and copies[a].copy_date < change_date}
        if applied:
            conn.execute(sql("dnc/apply_deletions"), [_ints(applied)])
            conn.execute(sql("dnc/apply_additions"), [_ints(applied)])
        for a in applied:
            base = copies[a]
            copies[a] = replace(
                base,
                copy_date=change_date,
                rejected_lines=base.rejected_lines + rejected,
                source_file=f"{base.source_file}+{path.name}",
            )
        conn.execute(sql("dnc/drop_chg"))
        return applied

    @staticmethod
    def _write_catalog(
        conn, copies: Iterable[AreaCodeCopy], keys: Sequence[tuple[str, int, int]], fingerprint: str
    ) -> None:
        for statement in statements("dnc/clear_catalog"):
            conn.execute(statement)
        rows = [[c.area_code, c.copy_date, c.numbers, c.rejected_lines, c.source_file] for c in copies]
        if rows:
            conn.executemany(sql("dnc/insert_coverage"), rows)
        conn.executemany(sql("dnc/insert_file"), [list(key) for key in keys])
        conn.execute(sql("dnc/insert_meta"), [fingerprint])

    # --- reading ----------------------------------------------------------------------------------
    def _connect(self) -> duckdb.DuckDBPyConnection:
        # Imported on use, not with the code location: definitions.py freezes what the code location
        # imports, and duckdb's bindings report frozen objects as leaks at exit.
        import duckdb

        return duckdb.connect(str(self.path), read_only=True)

    def _stored_fingerprint(self) -> str | None:
        """The fingerprint of the files the store was loaded from (None: no store, or not a store)."""
        import duckdb

        if not self.path.exists():
            return None
        try:
            with self._connect() as conn:
                return conn.execute(sql("dnc/fingerprint")).fetchone()[0]
        except duckdb.Error:
            return None

    def fingerprint(self) -> str | None:
        """The fingerprint of the files the store can answer for: None when there is no store, or when its
        look-up index is missing or damaged (the store cannot answer until a load writes it again)."""
        stored = self._stored_fingerprint()
        return stored if self._index(stored) is not None else None

    def index_problem(self) -> str | None:
        """Why look-ups cannot read the index (for a failure message), or None when they can."""
        stored = self._stored_fingerprint()
        if stored is None or self._index(stored) is not None:
            return None
        return f"its look-up index {self.index_path(stored).name} is missing or damaged (materialize dnc_registry)"

    def count(self) -> int:
        with self._connect() as conn:
            return conn.execute(sql("dnc/count_numbers")).fetchone()[0]

    def coverage(self) -> list[AreaCodeCopy]:
        with self._connect() as conn:
            rows = conn.execute(sql("dnc/coverage")).fetchall()
        return [AreaCodeCopy(*row) for row in rows]

    def lookup_frame(self, phones: Sequence[str], today: dt.date) -> pd.DataFrame:
        """A verdict for every distinct phone, as a frame (PHONE, STATUS, REASON, and the evidence: AREA_CODE,
        COPY_DATE, SOURCE_FILE of the registry copy that answered): listed, clear, or unknown with the reason
        (invalid number, registry missing, copy stale or dated in the future, area code not covered).

        Validation and coverage run inside DuckDB over the whole batch (the per-phone Python version spent 8.9 s
        on a million phones); whether a number is listed is one read of the bitmap index per phone (a join
        on `numbers` read the whole column: see adapters/dnc_index.py)."""
        # Arrow in and out: building a pandas object column from a million str costs more than the query.
        wanted = pa.table({"PHONE": pa.array([str(p) for p in phones], type=pa.string())})
        if not self.path.exists():
            frame = wanted.to_pandas().drop_duplicates(ignore_index=True)
            return frame.assign(
                STATUS=str(Dnc.UNKNOWN), REASON="registry_missing", AREA_CODE=None, COPY_DATE=None, SOURCE_FILE=None
            )
        oldest_fresh = today - dt.timedelta(days=REGISTRY_VALID_DAYS)
        with self._connect() as conn:
            # The index of the store this connection reads (not of whatever store is at the path by now).
            index = self._index(conn.execute(sql("dnc/fingerprint")).fetchall()[0][0])
            phones_in = wanted["PHONE"]
            ten_digits = pc.match_substring_regex(phones_in, r"^[0-9]{10}$")
            numbers = pc.cast(pc.if_else(ten_digits, phones_in, "0"), pa.int64()).to_numpy()
            listed = index.listed(numbers) if index else pa.nulls(len(numbers), pa.bool_())
            wanted = wanted.append_column("LISTED", listed)
            conn.register("wanted", wanted)
            params = [oldest_fresh, today, oldest_fresh, today]
            result = conn.sql(sql("dnc/lookup"), params=params).to_arrow_table()
        return result.to_pandas()

    def lookup(self, phones: Sequence[str], today: dt.date) -> dict[str, ScrubOutcome]:
        """`lookup_frame` as {phone: ScrubOutcome}, for callers that handle a few numbers."""
        frame = self.lookup_frame(phones, today)
        return outcomes_by_phone(
            frame["PHONE"].tolist(), frame["STATUS"].tolist(), frame["REASON"].tolist(), status_type=Dnc
        )
