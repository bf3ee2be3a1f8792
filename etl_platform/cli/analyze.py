"""`etl-platform analyze`: stage breakdown against the baselines, the bottleneck and its share, and
recommendations computed from what the runs recorded; for one run, a partition, or the last N partitions."""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import click
import dagster as dg

from etl_platform.adapters.baselines_file import load_baselines
from etl_platform.cli.observe import RunTrace, find_run, load_trace
from etl_platform.core.settings import Settings
from etl_platform.core.stages import (
    DAILY_JOB,
    DNC_SCRUB,
    LEAD_CONTACTS,
    LEAD_RESULTS,
    LITIGATOR_SCRUB,
    PIPELINE_ORDER,
    RAW_LEADS,
    STAGES,
)


@dataclass
class StageSummary:
    asset: str
    name: str
    seconds: float | None
    status: str  # OK | SLOW | CONCERN | NOT_RUN
    share_percent: float | None
    history_median: float | None = None


@dataclass
class Analysis:
    runs: list[str]
    partitions: list[str]
    stages: list[StageSummary]
    total_seconds: float | None
    bottleneck: str | None
    bottleneck_share_percent: float | None
    recommendations: list[str]
    configuration: dict[str, object]
    per_partition: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def _number(value) -> float | int:
    """A figure from metadata as a number: configuration is recorded as text (not plotted), counts as ints."""
    number = float(value)
    return int(number) if number.is_integer() else number


def pipeline_runs(instance: dg.DagsterInstance, limit: int = 500) -> list[dg.RunRecord]:
    """Runs that materialize the daily pipeline (they carry a partition and select lead_results)."""
    records = instance.get_run_records(dg.RunsFilter(tags={}), limit=limit)
    return [
        r
        for r in records
        if r.dagster_run.tags.get("dagster/partition")
        and (
            r.dagster_run.job_name == DAILY_JOB
            or dg.AssetKey(LEAD_RESULTS.asset) in (r.dagster_run.asset_selection or set())
        )
    ]


def select_runs(
    instance: dg.DagsterInstance, run: str | None, partition: str | None, last: int | None
) -> list[dg.RunRecord]:
    if run:
        return [find_run(instance, run)]
    runs = pipeline_runs(instance)
    if partition:
        chosen = [r for r in runs if r.dagster_run.tags["dagster/partition"] == partition]
        if not chosen:
            raise LookupError(f"no pipeline run recorded for partition {partition}")
        return chosen[:1]
    latest: dict[str, dg.RunRecord] = {}
    for r in runs:  # newest first: keep each partition's latest run
        latest.setdefault(r.dagster_run.tags["dagster/partition"], r)
    if not latest:
        raise LookupError("no pipeline runs recorded")
    ordered = sorted(latest.values(), key=lambda r: r.dagster_run.tags["dagster/partition"], reverse=True)
    return ordered[: last or 1]


def configuration(settings: Settings) -> dict[str, object]:
    """The effective settings a run would use now (environment, defaults applied)."""
    return {
        "executor": "in_process (see definitions.py)",
        "pre_filtering": "returning-lead check in the warehouse (sql/earlier_leads.sql); dedupe and "
        "validation in process",
        "idicore_concurrency": settings.idicore_concurrency,
        "idicore_rate_limit_per_second": settings.idicore_rate_limit,
        "ccc_batch_size": settings.ccc_batch_size,
        "dnc_batch_size": settings.dnc_batch_size,
        "snowflake_batch_rows": settings.snowflake_batch_rows,
        "vendor_max_error_share": settings.vendor_max_error_share,
        "enrichment_cache_ttl_days": settings.enrichment_cache_ttl_days,
        "baselines_file": str(load_baselines(settings.baselines_path).path),
        "snowflake_endpoint": "local server" if os.environ.get("SNOWFLAKE_HOST") else "Snowflake",
    }


def recommendations(traces: list[RunTrace], config: dict[str, object], history: dict[str, float]) -> list[str]:
    recs: list[str] = []
    for trace in traces:
        tag = f"[{trace.partition}] " if len(traces) > 1 else ""
        idi = trace.stage(LEAD_CONTACTS.asset)
        if idi and idi.metadata:
            m = idi.metadata
            searches, limited = int(m.get("searches", 0)), int(m.get("idicore_http_429", 0))
            rate = float(m.get("rate_limit_configured") or config["idicore_rate_limit_per_second"])
            conc = int(m.get("concurrency_configured") or config["idicore_concurrency"])
            used = int(m.get("idicore_max_in_flight", 0))
            if limited:
                recs.append(
                    f"{tag}idiCORE answered 429 {limited} times: lower IDICORE_RATE_LIMIT (now {rate:g}/s) "
                    "or ask idiCORE to raise the quota; lower IDICORE_CONCURRENCY if bursts cause it"
                )
            retries = int(m.get("idicore_retries", 0))
            if searches and idi.seconds:
                floor = searches / rate
                if idi.seconds > 1.5 * floor + 1:
                    if retries:
                        recs.append(
                            f"{tag}idiCORE took {idi.seconds:.1f} s, {idi.seconds / floor:.1f}x its "
                            f"rate-limit floor ({floor:.1f} s): {retries} retries and their backoff "
                            "(see `etl-platform trace` for the kinds of failure)"
                        )
                    elif used >= conc:
                        recs.append(
                            f"{tag}idiCORE took {idi.seconds:.1f} s for {searches} searches, "
                            f"{idi.seconds / floor:.1f}x the rate-limit floor ({floor:.1f} s) with all "
                            f"{conc} workers busy: vendor latency bound; raise IDICORE_CONCURRENCY"
                        )
                    else:
                        recs.append(
                            f"{tag}idiCORE took {idi.seconds:.1f} s, {idi.seconds / floor:.1f}x its "
                            f"rate-limit floor ({floor:.1f} s) though only {used} of {conc} workers were "
                            "used: the time went to retries or backoff (see trace)"
                        )
            hits = int(m.get("cache_hits", 0))
            if searches + hits >= 20 and hits / (searches + hits) < 0.1:
                recs.append(
                    f"{tag}enrichment cache hit rate {100 * hits / (searches + hits):.0f}%: normal for "
                    "new leads; repeat people within ENRICHMENT_CACHE_TTL_DAYS "
                    f"({config['enrichment_cache_ttl_days']:g}) are not paid for twice"
                )
        ccc = trace.stage(LITIGATOR_SCRUB.asset)
        if ccc and ccc.metadata:
            phones, calls = int(ccc.metadata.get("distinct_phones", 0)), int(ccc.metadata.get("ccc_calls", 0))
            batch = int(ccc.metadata.get("batch_size") or config["ccc_batch_size"])
            needed = math.ceil(phones / batch) if phones else 0
            if calls > needed > 0:
                recs.append(
                    f"{tag}CCC needed {calls} calls for {phones} phones (batch size {batch} would need "
                    f"{needed}): retries or 400-split batches"
                )
        dnc = trace.stage(DNC_SCRUB.asset)
        if dnc and dnc.metadata.get("distinct_phones"):
            unknown = int(dnc.metadata.get("status_unknown", 0))
            share = unknown / int(dnc.metadata["distinct_phones"])
            if share > 0.1:
                causes = ", ".join(f"{k[8:]}={v}" for k, v in dnc.metadata.items() if k.startswith("unknown_"))
                recs.append(
                    f"{tag}{100 * share:.0f}% of phones are DNC-unknown ({causes}): load the FTC files "
                    "for the missing area codes or refresh stale copies in DNC_SOURCE_DIR"
                )
        for stage in trace.stages:
            if stage.baseline_status in ("SLOW", "CONCERN"):
                recs.append(
                    f"{tag}{stage.name} is {stage.baseline_status} against baselines.yaml ({stage.seconds:.2f} s)"
                )
            median = history.get(stage.asset)
            if stage.seconds and median and stage.seconds > 3 * median and stage.seconds - median > 1:
                recs.append(
                    f"{tag}{stage.name} took {stage.seconds:.2f} s, {stage.seconds / median:.1f}x its own "
                    f"median of {median:.2f} s over recent partitions"
                )
    return list(dict.fromkeys(recs))


def stage_history(instance: dg.DagsterInstance, limit: int) -> dict[str, float]:
    medians = {}
    for asset in PIPELINE_ORDER:
        records = instance.fetch_materializations(dg.AssetKey(asset), limit=limit).records
        values = [
            float(r.asset_materialization.metadata["stage_seconds"].value)
            for r in records
            if "stage_seconds" in r.asset_materialization.metadata
        ]
        if len(values) >= 3:
            medians[asset] = statistics.median(values)
    return medians


FAILED_STATUSES = ("FAILURE", "CANCELED")


def marks(trace: RunTrace) -> dict:
    """What a partition's bar must say besides its seconds: the run failed (a failed step's seconds are time
    spent failing, not a slow day), or the extract held no leads (a bar of nothing is not an all-clear)."""
    raw = trace.stage(RAW_LEADS.asset)
    leads = raw.metadata.get("rows_out") if raw else None
    return {
        "leads": int(leads) if leads is not None else None,
        "failed": trace.status in FAILED_STATUSES,
        "empty": leads is not None and int(leads) == 0,
    }


def analyze(
    instance: dg.DagsterInstance, run: str | None = None, partition: str | None = None, last: int | None = None
) -> tuple[Analysis, list[RunTrace]]:
    settings = Settings.from_env(os.environ)
    baselines = load_baselines(settings.baselines_path)
    records = select_runs(instance, run, partition, last)
    traces = [load_trace(instance, r, baselines) for r in records]
    history = stage_history(instance, baselines.learned.partitions)
    config = configuration(settings)
    # Configured now vs what the analysed runs actually used (recorded in their metadata).
    used = {
        # peak searches in flight, against IDICORE_CONCURRENCY
        "idicore_concurrency": (LEAD_CONTACTS.asset, "idicore_max_in_flight"),
        "idicore_rate_limit_per_second": (LEAD_CONTACTS.asset, "rate_limit_configured"),
        "ccc_batch_size": (LITIGATOR_SCRUB.asset, "batch_size"),
        "dnc_batch_size": (DNC_SCRUB.asset, "batch_size"),
    }
    for setting, (asset, figure) in used.items():
        values = [_number(s.metadata[figure]) for t in traces if (s := t.stage(asset)) and figure in s.metadata]
        if values:
            config[f"{setting}_used"] = max(values)
    stages = []
    totals = [t.duration for t in traces if t.duration]
    total = statistics.median(totals) if totals else None
    assets = [a for a in PIPELINE_ORDER if any(t.stage(a) for t in traces)]
    for asset in assets:
        seconds = [s.seconds for t in traces if (s := t.stage(asset)) and s.seconds is not None]
        value = statistics.median(seconds) if seconds else None
        worst = "NOT_RUN"
        for t in traces:
            s = t.stage(asset)
            if s and s.baseline_status:
                worst = max(worst, s.baseline_status, key=["NOT_RUN", "OK", "SLOW", "CONCERN"].index)
        share = 100 * value / total if value is not None and total else None
        stages.append(StageSummary(asset, STAGES[asset].name, value, worst, share, history.get(asset)))
    timed = [s for s in stages if s.seconds is not None]
    neck = max(timed, key=lambda s: s.seconds, default=None)
    per_partition = [
        {
            "partition": t.partition,
            "run_id": t.run_id,
            "status": t.status,
            "duration": t.duration,
            **marks(t),
            **{s.asset: s.seconds for s in t.stages},
        }
        for t in traces
    ]
    return Analysis(
        runs=[t.run_id for t in traces],
        partitions=[t.partition for t in traces if t.partition],
        stages=stages,
        total_seconds=total,
        bottleneck=neck.name if neck else None,
        bottleneck_share_percent=neck.share_percent if neck else None,
        recommendations=recommendations(traces, config, history),
        configuration=config,
        per_partition=per_partition,
    ), traces


def render(analysis: Analysis) -> str:
    scope = (
        f"run {analysis.runs[0]}"
        if len(analysis.runs) == 1
        else f"{len(analysis.runs)} partitions ({analysis.partitions[-1]} .. {analysis.partitions[0]}), medians"
    )
    out = [
        f"Stage breakdown for {scope}:",
        f"  {'stage':<18} {'seconds':>8}  {'share':>6}  {'vs baseline':<12}{'own median':>10}",
    ]
    for s in analysis.stages:
        secs = f"{s.seconds:8.2f}" if s.seconds is not None else f"{'-':>8}"
        share = f"{s.share_percent:5.0f}%" if s.share_percent is not None else f"{'-':>6}"
        hist = f"{s.history_median:10.2f}" if s.history_median is not None else f"{'-':>10}"
        out.append(f"  {s.name:<18} {secs}  {share}  {s.status:<14}{hist}")
    if analysis.total_seconds is not None:
        out.append(f"  {'Total (run)':<18} {analysis.total_seconds:8.2f}")
    if analysis.bottleneck:
        out.append(f"Bottleneck: {analysis.bottleneck} ({analysis.bottleneck_share_percent:.0f}% of the run)")
    out.append("Recommendations:")
    out += [f"  - {r}" for r in analysis.recommendations] or ["  - none: every stage within its baselines"]
    out.append("Configuration check:")
    out += [f"  {k:<30} {v}" for k, v in analysis.configuration.items()]
    return "\n".join(out)


def plot_rows(analysis: Analysis) -> list[dict]:
    """The bars of `figure`, oldest partition first: each partition's stage seconds and marks (`failed`,
    `empty`, `leads`), and `note`, the words drawn over a marked bar ("failed", "0 leads")."""
    words = {"FAILURE": "failed", "CANCELED": "canceled"}
    rows = []
    for row in sorted(analysis.per_partition, key=lambda r: r["partition"] or ""):
        notes = [words.get(row["status"], "failed")] if row.get("failed") else []
        notes += ["0 leads"] if row.get("empty") else []
        rows.append(row | {"note": "\n".join(notes) or None})
    return rows


FAILED_STYLE = {"hatch": "//", "edgecolor": "#c0392b", "linewidth": 1.5}


def figure(analysis: Analysis):
    """Stacked bars of stage seconds per partition, oldest on the left (a matplotlib Figure). A failed run's
    bar is hatched with a red outline and labelled "failed"; an empty day is labelled "0 leads"; the legend
    sits to the right of the bars, never over them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    rows = plot_rows(analysis)
    labels = [r["partition"] for r in rows]
    fig, ax = plt.subplots(figsize=(max(6, len(rows) * 0.8) + 2.5, 4.5), layout="constrained")
    bottom = [0.0] * len(rows)
    for asset in PIPELINE_ORDER:
        values = [float(r.get(asset) or 0) for r in rows]
        bars = ax.bar(labels, values, bottom=bottom, label=STAGES[asset].name)
        for bar, row in zip(bars, rows, strict=True):
            if row.get("failed"):
                bar.set(**FAILED_STYLE)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    top = max(bottom, default=0.0) or 1.0
    for i, row in enumerate(rows):
        if row["note"]:
            ax.annotate(
                row["note"],
                (i, bottom[i]),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                va="bottom",
                color=FAILED_STYLE["edgecolor"] if row.get("failed") else "#444",
                fontsize="small",
                fontweight="bold",
            )
    ax.set_ylim(0, top * 1.15)  # room for the words over the tallest bar
    ax.set_ylabel("seconds")
    ax.set_title("Stage durations per partition")
    handles, _ = ax.get_legend_handles_labels()
    if any(r.get("failed") for r in rows):
        handles.append(Patch(facecolor="white", label="failed run", **FAILED_STYLE))
    ax.legend(handles=handles, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    ax.tick_params(axis="x", rotation=45)
    return fig


def plot(analysis: Analysis, path: Path) -> Path:
    """`figure` written to a PNG."""
    import matplotlib.pyplot as plt

    fig = figure(analysis)
    fig.savefig(path, dpi=100)  # the constrained layout keeps the legend (right of the axes) inside the PNG
    plt.close(fig)
    return path


@click.command("analyze")
@click.option("--run", "run_id", help="a run id or unique prefix")
@click.option("--partition", help="the latest run of this partition (YYYY-MM-DD)")
@click.option("--last", type=click.IntRange(min=1), help="the latest run of each of the last N partitions")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.option("--plot", "plot_path", metavar="PNG", type=click.Path(path_type=Path), help="also draw a PNG")
def command(run_id: str | None, partition: str | None, last: int | None, as_json: bool, plot_path: Path | None):
    """Stage breakdown vs baselines, the bottleneck, recommendations."""
    if sum(x is not None for x in (run_id, partition, last)) > 1:
        raise click.UsageError("give at most one of --run, --partition, --last")
    from etl_platform.cli.environment import open_instance

    with open_instance() as instance:
        try:
            result, _ = analyze(instance, run_id, partition, last)
        except LookupError as err:
            click.echo(str(err), err=True)
            sys.exit(2)
    click.echo(json.dumps(result.as_dict(), indent=2, default=str) if as_json else render(result))
    if plot_path:
        click.echo(f"plot written to {plot(result, plot_path)}", err=True)
