"""Stage baselines and how a stage's duration is judged against them. The file they come from
(`etl_platform/baselines.yaml`, or ETL_BASELINES_PATH) is read by `adapters/baselines_file.py`."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

from etl_platform.core.stages import STAGES


@dataclass(frozen=True)
class Baseline:
    asset: str
    name: str
    typical_high: float
    concern: float
    per: float | None = None
    volume: str | None = None

    def scale(self, metadata: dict) -> float:
        if not self.per or not self.volume:
            return 1.0
        volume = metadata.get(self.volume)
        return max(1.0, float(volume) / self.per) if isinstance(volume, int | float) else 1.0

    def judge(self, seconds: float, metadata: dict) -> Judgement:
        factor = self.scale(metadata)
        typical, concern = self.typical_high * factor, self.concern * factor
        status = "CONCERN" if seconds > concern else "SLOW" if seconds > typical else "OK"
        return Judgement(status, seconds, typical, concern, factor)


@dataclass(frozen=True)
class Judgement:
    status: str  # OK | SLOW | CONCERN
    seconds: float
    typical_limit: float
    concern_limit: float
    scale: float

    def describe(self, name: str) -> str:
        scaled = f" (scaled x{self.scale:.2f} for volume)" if self.scale > 1 else ""
        return (
            f"{name} took {self.seconds:.2f} s; typical up to {self.typical_limit:.2f} s, "
            f"concern above {self.concern_limit:.2f} s{scaled}"
        )


@dataclass(frozen=True)
class Learned:
    partitions: int = 14
    factor: float = 3.0
    min_seconds: float = 1.0

    def judge(self, seconds: float, history: list[float]) -> tuple[bool, float | None]:
        """(is_far_off, median of history). Needs at least 3 earlier values to have an opinion."""
        if len(history) < 3:
            return False, None
        median = statistics.median(history)
        return seconds > max(median * self.factor, median + self.min_seconds), median


@dataclass(frozen=True)
class Baselines:
    stages: dict[str, Baseline]
    total: Baseline
    learned: Learned
    path: Path


def parse_baselines(raw: dict, path: Path) -> Baselines:
    """The baselines from the parsed YAML (`adapters/baselines_file.py` reads the file)."""

    def baseline(asset: str, spec: dict) -> Baseline:
        low_high = spec["typical"]
        return Baseline(
            asset,
            STAGES[asset].name if asset in STAGES else spec.get("name", asset),
            float(low_high[1]),
            float(spec["concern"]),
            spec.get("per"),
            spec.get("volume"),
        )

    stages = {asset: baseline(asset, spec) for asset, spec in raw["stages"].items()}
    total = baseline("total", {"name": "Total", **raw["total"]})
    learned = Learned(**raw.get("learned", {}))
    return Baselines(stages, total, learned, path)


@dataclass(frozen=True)
class VolumeJudgement:
    """A day's extract against the same asset's recent extracts: the first sign of a broken loader is a day
    with no leads, or far fewer than usual."""

    count: int
    median: float | None  # None: fewer than `MIN_VOLUME_HISTORY` earlier extracts
    history_size: int
    min_share: float

    @property
    def limit(self) -> float | None:
        return self.median * self.min_share if self.median is not None else None

    @property
    def low(self) -> bool:
        # 0 leads always warns (with or without history); a holiday can be empty, the warning is the signal
        return self.count == 0 or (self.limit is not None and self.count < self.limit)

    def describe(self) -> str:
        if self.median is None:
            history = "no history" if not self.history_size else f"not enough history ({self.history_size} earlier)"
            return f"{history}, {self.count} leads" + (": an empty extract" if self.count == 0 else "")
        return (
            f"{self.count} leads vs a median of {self.median:g} over {self.history_size} earlier extracts "
            f"(warns below {self.min_share:.0%} of it: {self.limit:g})"
        )


MIN_VOLUME_HISTORY = 3  # as the learned duration baseline: fewer earlier values give no median


def judge_volume(count: int, history: list[float], min_share: float) -> VolumeJudgement:
    median = statistics.median(history) if len(history) >= MIN_VOLUME_HISTORY else None
    return VolumeJudgement(int(count), median, len(history), min_share)
