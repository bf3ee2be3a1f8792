"""The DNC store on real registry files (DuckDB in a temp folder): verdicts, the 31-day rule, area-code
coverage, newer copies, change lists, and SQL validation that agrees with the NANP rule."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from etl_platform.adapters.dnc_store import DncStore
from etl_platform.core.phones import is_valid_nanp


def test_dnc_store_verdicts_stale_and_uncovered(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    today = dt.date(2026, 11, 21)
    (source / "dnc_201_2026-11-20.txt").write_text("201,2345678\n201,3456789\nnot a number\n2019876543\n")
    (source / "dnc_267_2026-10-01.txt").write_text("267,5466417\n")  # 51 days old: stale
    store = DncStore(tmp_path / "registry.duckdb")
    report = store.load(source)
    assert report.changed and report.numbers == 4
    assert {c.area_code: c.copy_date for c in report.area_codes} == {
        "201": dt.date(2026, 11, 20),
        "267": dt.date(2026, 10, 1),
    }
    got = {
        p: (str(o.status), o.reason)
        for p, o in store.lookup(
            ["2012345678", "2019876543", "2012222222", "2675466417", "3125551234", "12"], today
        ).items()
    }
    assert got == {
        "2012345678": ("listed", None),
        "2019876543": ("listed", None),
        "2012222222": ("clear", None),
        "2675466417": ("unknown", "registry_stale"),
        "3125551234": ("unknown", "area_code_not_covered"),
        "12": ("unknown", "invalid_number"),
    }
    assert not store.load(source).changed, "unchanged files do not rebuild the store"


def test_dnc_store_missing_registry_is_unknown(tmp_path):
    outcomes = DncStore(tmp_path / "absent.duckdb").lookup(["2012345678"], dt.date(2026, 11, 21))
    assert outcomes["2012345678"].reason == "registry_missing"


def test_dnc_newer_copy_of_an_area_code_wins(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "a_201_2026-11-01.txt").write_text("201,2345678\n")
    (source / "b_201_2026-11-15.txt").write_text("201,3456789\n")
    store = DncStore(tmp_path / "r.duckdb")
    store.load(source)
    got = store.lookup(["2012345678", "2013456789"], dt.date(2026, 11, 20))
    assert str(got["2012345678"].status) == "clear" and str(got["2013456789"].status) == "listed"


def test_dnc_change_list_adds_deletes_and_freshens_its_area_code(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "dnc_201_2026-10-01.txt").write_text("201,2345678\n201,3456789\n")  # 51 days old on 11-21
    (source / "dnc_changes_2026-11-15.txt").write_text("A,201,2222222\nD,201,2345678\nX,201,9999999\nA,312,2223333\n")
    store = DncStore(tmp_path / "r.duckdb")
    report = store.load(source)
    (copy,) = report.area_codes
    assert copy.copy_date == dt.date(2026, 11, 15) and copy.numbers == 2
    got = {
        p: str(o.status)
        for p, o in store.lookup(
            ["2012222222", "2012345678", "2013456789", "3122223333"], dt.date(2026, 11, 21)
        ).items()
    }
    assert got == {"2012222222": "listed", "2012345678": "clear", "2013456789": "listed", "3122223333": "unknown"}


def test_dnc_change_list_older_than_the_full_list_is_ignored(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "dnc_201_2026-11-15.txt").write_text("201,2345678\n")
    (source / "dnc_changes_2026-11-01.txt").write_text("D,201,2345678\n")
    store = DncStore(tmp_path / "r.duckdb")
    store.load(source)
    assert str(store.lookup(["2012345678"], dt.date(2026, 11, 20))["2012345678"].status) == "listed"


_DIGITS_OR_JUNK = st.one_of(
    st.text(alphabet="0123456789", min_size=10, max_size=10),
    # each rule's edge: N11 area code, 555-01xx fictional range and its bounds, exchange 0/1, area 0/1
    st.sampled_from(["2112345678", "2025550100", "2025550199", "2025550200", "2021234567", "2020234567", "1202345678"]),
    st.text(alphabet="0123456789-() +x", max_size=12),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(phones=st.lists(_DIGITS_OR_JUNK, min_size=1, max_size=40))
@example(phones=["2112345678", "2025550100", "2025550199", "2025550200", "2021234567", "1202345678", "2022345678"])
def test_dnc_lookup_validates_exactly_like_the_nanp_rule(tmp_path, phones):
    """The store validates in SQL (sql/dnc/lookup.sql) for speed; it must agree with phones.py, or a number
    the rest of the pipeline calls valid could slip through the DNC scrub as 'invalid' (or the reverse)."""
    store = DncStore(tmp_path / "registry.duckdb")
    if not store.path.exists():
        source = tmp_path / "src"
        source.mkdir(exist_ok=True)
        (source / "dnc_202_2026-11-20.txt").write_text("202,2345678\n")
        store.load(source)
    frame = store.lookup_frame(phones, dt.date(2026, 11, 21))
    assert sorted(frame["PHONE"]) == sorted(set(phones)), "one row per distinct phone, none lost"
    for phone, status, reason in frame[["PHONE", "STATUS", "REASON"]].itertuples(index=False):
        invalid = reason == "invalid_number"
        assert invalid == (not is_valid_nanp(phone)), phone
        if invalid:
            assert status == "unknown"
        elif phone == "2022345678":
            assert status == "listed"
    # The evidence of each verdict: the copy that answered, for every phone of a covered area code.
    covered = frame[frame["PHONE"].str[:3].eq("202") & frame["REASON"].ne("invalid_number")]
    assert set(covered["SOURCE_FILE"]) <= {"dnc_202_2026-11-20.txt"}
    assert set(covered["COPY_DATE"].astype(str)) <= {"2026-11-20"}


def test_dnc_copy_dated_in_the_future_is_not_trusted(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "dnc_201_2099-01-01.txt").write_text("201,2345678\n")
    store = DncStore(tmp_path / "r.duckdb")
    store.load(source)
    got = store.lookup(["2012345678", "2019999999"], dt.date(2026, 11, 21))
    assert {p: (str(o.status), o.reason) for p, o in got.items()} == {
        "2012345678": ("unknown", "registry_future_dated"),
        "2019999999": ("unknown", "registry_future_dated"),
    }


def _verdicts(store: DncStore, phones: list[str], today: dt.date) -> dict[str, str]:
    return {p: str(o.status) for p, o in store.lookup(phones, today).items()}


def test_dnc_new_change_list_updates_the_store_incrementally_as_a_rebuild_would(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "dnc_201_2026-11-01.txt").write_text("201,2345678\n201,3456789\n201,4567890\n")
    (source / "dnc_202_2026-11-01.txt").write_text("202,2345678\n")
    (source / "dnc_changes_2026-11-10.txt").write_text("D,201,4567890\n")
    store = DncStore(tmp_path / "r.duckdb")
    assert store.load(source).mode == "full"
    (source / "dnc_changes_2026-11-15.txt").write_text(
        "A,201,2222222\nD,201,2345678\nA,201,3456789\nbad line\nA,312,2223333\n"
    )
    report = store.load(source)
    assert (report.mode, report.applied) == ("incremental", ("dnc_changes_2026-11-15.txt",))
    assert report.numbers == 3 and store.count() == 3, "one added, one deleted, one already listed"
    coverage = {c.area_code: c for c in store.coverage()}
    assert {a: c.copy_date for a, c in coverage.items()} == {
        "201": dt.date(2026, 11, 15),  # the list applied to 201 only: 202 keeps its copy's date
        "202": dt.date(2026, 11, 1),
    }
    assert coverage["201"].numbers == 2 and coverage["201"].rejected_lines == 1
    assert coverage["201"].source_file == "dnc_201_2026-11-01.txt+dnc_changes_2026-11-10.txt+dnc_changes_2026-11-15.txt"
    phones = ["2012222222", "2012345678", "2013456789", "2014567890", "2022345678", "3122223333"]
    today = dt.date(2026, 12, 5)  # 201 fresh (20 days), 202 stale (34 days)
    got = _verdicts(store, phones, today)
    assert got == {
        "2012222222": "listed",
        "2012345678": "clear",
        "2013456789": "listed",
        "2014567890": "clear",
        "2022345678": "unknown",
        "3122223333": "unknown",
    }
    assert not store.load(source).changed, "the update recorded the new files: nothing left to do"
    rebuilt = DncStore(tmp_path / "rebuilt.duckdb")
    assert rebuilt.load(source).mode == "full"
    assert rebuilt.coverage() == store.coverage() and _verdicts(rebuilt, phones, today) == got


def test_dnc_rebuilds_unless_only_newer_change_lists_were_added(tmp_path):
    import duckdb

    source = tmp_path / "src"
    source.mkdir()
    (source / "dnc_201_2026-11-01.txt").write_text("201,2345678\n")
    (source / "dnc_changes_2026-11-10.txt").write_text("A,201,3456789\n")
    store = DncStore(tmp_path / "r.duckdb")
    store.load(source)
    (source / "dnc_changes_2026-11-05.txt").write_text("D,201,2345678\n")  # older than the applied list
    assert store.load(source).mode == "full"
    (source / "dnc_203_2026-11-12.txt").write_text("203,2345678\n")  # a new full list
    assert store.load(source).mode == "full"
    (source / "dnc_changes_2026-11-05.txt").unlink()  # a file gone
    assert store.load(source).mode == "full"
    with duckdb.connect(str(store.path)) as conn:
        conn.execute("DROP TABLE files")  # as a store written before incremental loads
    (source / "dnc_changes_2026-11-20.txt").write_text("A,201,4567890\n")
    assert store.load(source).mode == "full"
    (source / "dnc_changes_2026-11-21.txt").write_text("A,203,4567890\n")
    assert store.load(source).mode == "incremental"
    assert store.count() == 5 and {c.area_code: str(c.copy_date) for c in store.coverage()} == {
        "201": "2026-11-20",
        "203": "2026-11-21",
    }


def test_dnc_failed_update_keeps_the_previous_store(tmp_path):
    from etl_platform.adapters.dnc_store import SimpleChangeListParser

    class Broken(SimpleChangeListParser):
        def relation(self, conn, path):
            raise OSError(f"cannot read {path.name}")

    source = tmp_path / "src"
    source.mkdir()
    (source / "dnc_201_2026-11-01.txt").write_text("201,2345678\n")
    store = DncStore(tmp_path / "r.duckdb")
    store.load(source)
    before = (store.fingerprint(), store.coverage())
    (source / "dnc_changes_2026-11-10.txt").write_text("D,201,2345678\n")
    try:
        store.load(source, change_parser=Broken())
    except OSError:
        pass
    else:
        raise AssertionError("the broken change list must fail the load")
    assert (store.fingerprint(), store.coverage()) == before
    assert _verdicts(store, ["2012345678"], dt.date(2026, 11, 2)) == {"2012345678": "listed"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "r.duckdb",
        f"r.duckdb.{before[0]}.bits",
        "r.duckdb.lock",
        "src",
    ], "no staging file left behind, and the store's look-up index kept"


def _registry(tmp_path, lines="201,2345678\n201,3456789\n", files: dict[str, str] | None = None):
    """A store loaded from registry files in tmp_path/src (by default one full list of area code 201)."""
    source = tmp_path / "src"
    source.mkdir()
    for name, text in (files or {"dnc_201_2026-11-01.txt": lines}).items():
        (source / name).write_text(text)
    store = DncStore(tmp_path / "r.duckdb")
    store.load(source)
    return source, store


def test_dnc_store_without_its_index_answers_unknown_never_clear_and_the_next_load_writes_it(tmp_path):
    """The index is what says "not listed": without it (deleted, or a store copied without it) no phone may
    come back clear, the store is not up to date, and a load with unchanged files writes it again."""
    source, store = _registry(tmp_path)
    today = dt.date(2026, 11, 2)
    fingerprint = store.fingerprint()
    store.index_path(fingerprint).unlink()
    assert _verdicts(store, ["2012345678", "2012222222"], today) == {"2012345678": "unknown", "2012222222": "unknown"}
    assert {o.reason for o in store.lookup(["2012222222"], today).values()} == {"registry_index_missing"}
    assert store.fingerprint() is None and "look-up index" in store.index_problem()
    from etl_platform.cli.health import DOWN, probe_dnc

    state, words = probe_dnc({"DNC_REGISTRY_PATH": str(store.path)})
    assert state == DOWN and "look-up index" in words
    report = store.load(source)
    assert report.mode == "index" and store.fingerprint() == fingerprint and store.index_problem() is None
    assert _verdicts(store, ["2012345678", "2012222222"], today) == {"2012345678": "listed", "2012222222": "clear"}


def test_dnc_store_with_a_damaged_index_answers_unknown(tmp_path):
    _, store = _registry(tmp_path)
    index = store.index_path(store.fingerprint())
    index.write_bytes(index.read_bytes()[:-1])  # cut short: a disk that filled up, a partial copy
    assert _verdicts(store, ["2012222222"], dt.date(2026, 11, 2)) == {"2012222222": "unknown"}
    index.write_bytes(b"")
    assert _verdicts(store, ["2012222222"], dt.date(2026, 11, 2)) == {"2012222222": "unknown"}


def test_dnc_loads_keep_the_current_and_the_previous_index_only(tmp_path):
    """A scrub that opened the previous store before a swap still finds that store's index; older ones go."""
    source, store = _registry(tmp_path)
    names = [store.index_path(store.fingerprint()).name]
    for day in (10, 11):
        (source / f"dnc_changes_2026-11-{day}.txt").write_text(f"A,201,55566{day}\n")
        store.load(source)
        names.append(store.index_path(store.fingerprint()).name)
    assert sorted(p.name for p in tmp_path.glob("*.bits")) == sorted(names[1:])


def test_dnc_index_agrees_with_the_numbers_table_at_the_area_codes_edges(tmp_path):
    """Every bit position an off-by-one would break: the first and last valid local numbers of an area code
    (exchange 200, 999), both ends of a byte, and neighbouring area codes (201 listed, 202 not covered)."""
    listed = ["2012000000", "2012000007", "2012000008", "2019999999", "2012000015"]
    _, store = _registry(tmp_path, "".join(f"{n}\n" for n in listed))
    near = ["2012000001", "2012000006", "2012000009", "2019999998", "2012000014", "2012000016"]
    got = _verdicts(store, listed + near + ["2020000000"], dt.date(2026, 11, 2))
    assert got == {**dict.fromkeys(listed, "listed"), **dict.fromkeys(near, "clear"), "2020000000": "unknown"}


def test_dnc_files_of_bare_ten_digit_lines_load(tmp_path):
    """The FTC's full lists may hold bare 10-digit lines, and change lists `A,NNNNNNNNNN`: a file made only of
    those has fewer fields than the parser declares, which DuckDB's CSV sniffer refused (the load failed)."""
    source, store = _registry(tmp_path, "2012345678\n2013456789\n")
    (source / "dnc_changes_2026-11-10.txt").write_text("D,2012345678\nA,2014567890\n")
    report = store.load(source)
    assert report.mode == "incremental" and report.numbers == 2
    got = _verdicts(store, ["2012345678", "2013456789", "2014567890"], dt.date(2026, 11, 11))
    assert got == {"2012345678": "clear", "2013456789": "listed", "2014567890": "listed"}


def test_dnc_index_answers_as_the_set_it_was_written_from(tmp_path):
    """The bitmap index alone (no DuckDB): random listed numbers in three area codes, random look-ups in
    those and others; every answer is what a plain set says, and area codes it does not hold are null."""
    import numpy as np

    from etl_platform.adapters.dnc_index import LOCALS, DncIndex, pack, write_index

    rng = np.random.default_rng(16)
    listed = {area: rng.choice(LOCALS, size=50_000, replace=False) for area in (201, 415, 999)}
    path = write_index(tmp_path / "x.bits", list(listed), lambda area: pack(listed[area]))
    index = DncIndex(path)
    assert index.area_codes() == [201, 415, 999]
    wanted = np.concatenate(
        [area * LOCALS + np.concatenate([listed[area][:500], rng.integers(0, LOCALS, 500)]) for area in (201, 415, 999)]
        + [212 * LOCALS + rng.integers(0, LOCALS, 500)]
        + [np.array([0, 1999999999, 10_000_000_000])]
    )
    members = {int(area * LOCALS + n) for area, numbers in listed.items() for n in numbers}
    got = index.listed(wanted).to_pylist()
    expected = [(n in members) if n // LOCALS in listed else None for n in wanted.tolist()]
    assert got == expected and got.count(True) >= 1_500 and None in got


def test_dnc_incremental_load_keeps_the_untouched_area_codes_bitmaps_as_a_rebuild_would(tmp_path):
    """An incremental load copies the bitmaps of the area codes its change list does not touch: a listed
    number there must stay listed, and the whole index must equal a full rebuild's, byte for byte."""
    full_lists = {"dnc_201_2026-11-01.txt": "201,2345678\n201,3456789\n", "dnc_202_2026-11-01.txt": "202,2345678\n"}
    source, store = _registry(tmp_path, files=full_lists)
    (source / "dnc_changes_2026-11-10.txt").write_text("A,201,4567890\nD,201,2345678\n")
    assert store.load(source).mode == "incremental"
    got = _verdicts(store, ["2022345678", "2014567890", "2012345678", "2023456789"], dt.date(2026, 11, 11))
    assert got == {"2022345678": "listed", "2014567890": "listed", "2012345678": "clear", "2023456789": "clear"}
    rebuilt = DncStore(tmp_path / "rebuilt.duckdb")
    rebuilt.load(source, force=True)
    assert store.fingerprint() == rebuilt.fingerprint()
    assert store.index_path(store.fingerprint()).read_bytes() == rebuilt.index_path(rebuilt.fingerprint()).read_bytes()


def test_dnc_loads_of_one_store_take_turns(tmp_path):
    """Two loads at once could pair one store with another's index: a load waits for the one holding the lock,
    and clears an index a killed load left half-written."""
    import fcntl
    import threading

    source, store = _registry(tmp_path)
    partial = tmp_path / "r.duckdb.0123456789abcdef.bits.tmp-99999"
    partial.write_bytes(b"half an index")
    (source / "dnc_changes_2026-11-10.txt").write_text("A,201,5556610\n")
    done = threading.Event()
    with open(tmp_path / "r.duckdb.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another load, in another process, holds the store
        loading = threading.Thread(target=lambda: (store.load(source), done.set()))
        loading.start()
        assert not done.wait(0.5), "the load must wait for the lock"
        fcntl.flock(held, fcntl.LOCK_UN)
    loading.join(30)
    assert done.is_set() and not partial.exists()
    assert _verdicts(store, ["2015556610"], dt.date(2026, 11, 11)) == {"2015556610": "listed"}
