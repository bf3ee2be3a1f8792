"""The DNC store's look-up index: one bit per possible local number of every covered area code, in one file.

Why a bitmap: the store's DuckDB table answers a batch of phones with a join that reads the whole `numbers`
column (10,000 random phones fall in every area code, so DuckDB's zone maps prune nothing): 0.26 s per
10,000 phones at 50M numbers, 0.93 s extrapolated to the national 253M (issue 16). A bit per possible
7-digit local number (10,000,000 bits = 1.25 MB an area code) answers any phone with one memory read,
whatever the registry's size. At national scale (about 330 area codes in service) the file is about 412 MB,
against 2 GB for a sorted array of 253M 64-bit numbers searched by bisection. It is memory-mapped: a look-up
reads only the pages its phones fall on, and the OS shares them between processes.

The index is derived from the store's `numbers` table, never edited on its own: DncStore writes a new file
for every load (named by the registry files' fingerprint) before it swaps the new store in.

Layout: a HEADER-byte header (MAGIC, then one little-endian int32 slot per area code 200..999, -1 when the
index has no bitmap for it), then one SLOT_BYTES bitmap per slot; local number n is bit n % 8 (from the most
significant) of byte n // 8, numpy's `packbits` order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

MAGIC = b"ETLDNCB1"
FIRST_AREA, LAST_AREA = 200, 999  # every 3-digit NANP area code (they start with 2-9)
LOCALS = 10_000_000  # 7-digit local numbers of an area code
SLOT_BYTES = LOCALS // 8
HEADER = 4096  # MAGIC + the slot table (3,200 bytes), padded to a page so the bitmaps are page-aligned
_SLOTS = slice(len(MAGIC), len(MAGIC) + 4 * (LAST_AREA - FIRST_AREA + 1))


class IndexDamaged(Exception):
    """The index file is not one this module wrote, or it is cut short."""


def pack(local_numbers: np.ndarray) -> np.ndarray:
    """The bitmap of an area code whose listed local numbers (0..9,999,999) are given."""
    bits = np.zeros(LOCALS, dtype=bool)
    bits[local_numbers] = True
    return np.packbits(bits)


def write_index(path: Path, area_codes: Sequence[int], bitmap_of: Callable[[int], np.ndarray]) -> Path:
    """Write the index of `area_codes` (each bitmap from `bitmap_of`, one at a time: memory stays at one area
    code's) to a temporary file and rename it to `path`, so a reader never maps a half-written index."""
    slots = np.full(LAST_AREA - FIRST_AREA + 1, -1, dtype="<i4")
    for slot, area in enumerate(sorted(area_codes)):
        if not FIRST_AREA <= area <= LAST_AREA:
            raise ValueError(f"area code {area} is not a 3-digit NANP area code")
        slots[area - FIRST_AREA] = slot
    header = MAGIC + slots.tobytes()
    temporary = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        with open(temporary, "wb") as out:
            out.write(header.ljust(HEADER, b"\0"))
            for area in sorted(area_codes):
                bitmap = bitmap_of(area)
                if bitmap.dtype != np.uint8 or bitmap.shape != (SLOT_BYTES,):
                    raise ValueError(f"the bitmap of area code {area} is not {SLOT_BYTES:,} bytes")
                out.write(bitmap.tobytes())
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


class DncIndex:
    """A memory-mapped index file, read-only."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self._map = np.memmap(path, dtype=np.uint8, mode="r")
        except ValueError as error:  # numpy cannot map an empty file
            raise IndexDamaged(f"{path} is empty") from error
        if len(self._map) < HEADER or bytes(self._map[: len(MAGIC)]) != MAGIC:
            raise IndexDamaged(f"{path} is not a DNC look-up index")
        self._slots = np.frombuffer(bytes(self._map[_SLOTS]), dtype="<i4").astype(np.int64)
        expected = HEADER + SLOT_BYTES * int((self._slots >= 0).sum())
        if len(self._map) != expected:
            raise IndexDamaged(f"{path} holds {len(self._map):,} bytes where its slot table needs {expected:,}")

    def area_codes(self) -> list[int]:
        return [FIRST_AREA + i for i in np.flatnonzero(self._slots >= 0).tolist()]

    def bitmap(self, area_code: int) -> np.ndarray:
        """A copy of an area code's bitmap (a load that changes other area codes copies this one over)."""
        slot = self._slots[area_code - FIRST_AREA]
        if slot < 0:
            raise KeyError(area_code)
        start = HEADER + int(slot) * SLOT_BYTES
        return np.array(self._map[start : start + SLOT_BYTES])

    def listed(self, numbers: np.ndarray) -> pa.Array:
        """Per 10-digit number (int64): true when listed, false when not, null when the index has no bitmap for
        its area code (or it is not a 10-digit number): null is never read as "not listed"."""
        numbers = np.asarray(numbers, dtype=np.int64)
        area, local = np.divmod(numbers, LOCALS)
        in_range = (area >= FIRST_AREA) & (area <= LAST_AREA)
        slot = np.full(len(numbers), -1, dtype=np.int64)
        slot[in_range] = self._slots[area[in_range] - FIRST_AREA]
        known = slot >= 0
        local = local[known]
        byte = self._map[HEADER + slot[known] * SLOT_BYTES + local // 8]
        listed = np.zeros(len(numbers), dtype=bool)
        listed[known] = (byte >> (7 - local % 8).astype(np.uint8)) & 1 == 1
        return pa.array(listed, mask=~known)
