"""Seaborn figures of stored results. Each function returns a matplotlib Figure; ``save`` writes
PNG and SVG. Titles and axis labels carry units (nats, seconds)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: figures are files
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

sns.set_theme(style="whitegrid", context="notebook")
_SVG_META = {"Date": None}  # no timestamp in SVGs: re-rendering a store gives the same file


def _largest_n(summary: pd.DataFrame) -> pd.DataFrame:
    """Per (task, estimator), the line with the largest sample size."""
    idx = summary.groupby(["task_id", "estimator"])["n"].idxmax()
    return summary.loc[idx]


def estimate_vs_truth(summary: pd.DataFrame) -> plt.Figure:
    """Mean estimate (error bar: std over seeds) against the truth, one panel per family."""
    s = _largest_n(summary).dropna(subset=["mean"])
    families = sorted(s["family"].unique())
    cols = min(3, max(1, len(families)))
    rows = int(np.ceil(len(families) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.4 * rows), squeeze=False)
    palette = dict(zip(sorted(summary["estimator"].unique()), sns.color_palette("tab10", 20)))
    for ax, fam in zip(axes.flat, families):
        d = s[s["family"] == fam]
        for est, g in d.groupby("estimator"):
            ax.errorbar(g["truth"], g["mean"], yerr=g["std"].fillna(0), fmt="o", ms=5, capsize=3,
                        color=palette[est], label=est, alpha=0.85)
        hi = float(max(d["truth"].max(), d["mean"].max(), 0.1)) * 1.08
        lo = float(min(0.0, d["mean"].min()))
        ax.plot([lo, hi], [lo, hi], color="0.3", ls="--", lw=1, label="identity")
        ax.set(title=fam, xlabel="true MI [nats]", ylabel="estimated MI [nats]")
    for ax in axes.flat[len(families):]:
        ax.axis("off")
    handles, labels = _unique_legend(axes)
    fig.legend(handles, labels, loc="lower center", ncol=min(6, len(labels)), frameon=False)
    fig.suptitle("Estimate vs truth (largest n; bars: std over seeds)", fontsize=14)
    fig.tight_layout(rect=(0, 0.06 + 0.02 * (len(labels) // 6), 1, 0.95))
    return fig


def bias_heatmap(summary: pd.DataFrame) -> plt.Figure:
    """Bias (mean estimate - truth) per estimator and task at the largest n, centred at zero."""
    s = _largest_n(summary)
    table = s.pivot(index="estimator", columns="task_id", values="bias")
    lim = float(np.nanmax(np.abs(table.values))) if table.notna().any().any() else 1.0
    fig, ax = plt.subplots(figsize=(max(6, 0.55 * table.shape[1] + 3), max(3, 0.5 * table.shape[0] + 2.5)))
    sns.heatmap(table, cmap="RdBu_r", center=0, vmin=-lim, vmax=lim, annot=table.shape[1] <= 30, fmt=".2f",
                annot_kws={"size": 8}, linewidths=0.5, cbar_kws={"label": "bias [nats]"}, ax=ax)
    ax.set(title="Bias of each estimator [nats] (largest n; blue: under, red: over)", xlabel="task", ylabel="")
    ax.tick_params(axis="x", labelrotation=60, labelsize=8)
    ax.tick_params(axis="y", labelrotation=0, labelsize=9)
    plt.setp(ax.get_xticklabels(), ha="right")
    fig.tight_layout()
    return fig


def runtime_vs_n(rows: pd.DataFrame) -> plt.Figure:
    """Mean seconds per cell against the sample size (log-log), per estimator and device."""
    ok = rows[rows["status"] == "ok"].copy()
    ok["estimator [device]"] = ok["estimator"] + " [" + ok["device"].fillna("?") + "]"
    d = ok.groupby(["estimator [device]", "n"], as_index=False)["seconds"].mean()
    fig, ax = plt.subplots(figsize=(7.5, 5))
    sns.lineplot(data=d, x="n", y="seconds", hue="estimator [device]", marker="o", ax=ax)
    ax.set(xscale="log", yscale="log", xlabel="sample size n", ylabel="mean time per estimate [s]",
           title="Runtime vs sample size")
    _plain_log_ticks(ax)
    ax.legend(fontsize=8, title="estimator [device]", title_fontsize=8)
    fig.tight_layout()
    return fig


def accuracy_vs_cost(summary: pd.DataFrame) -> plt.Figure:
    """Mean absolute error against mean seconds, one point per estimator (over all cells)."""
    g = summary.groupby("estimator").agg(mae=("mae", "mean"), seconds=("seconds", "mean")).reset_index()
    g = g.dropna()
    fig, ax = plt.subplots(figsize=(7.5, 5))
    sns.scatterplot(data=g, x="seconds", y="mae", hue="estimator", s=90, ax=ax, legend=False)
    for _, r in g.iterrows():
        ax.annotate(r["estimator"], (r["seconds"], r["mae"]), xytext=(5, 4), textcoords="offset points", fontsize=8)
    ax.set(xscale="log", xlabel="mean time per estimate [s]", ylabel="mean absolute error [nats]",
           title="Accuracy vs cost (lower left is better)")
    _plain_log_ticks(ax, "x")
    fig.tight_layout()
    return fig


def staircase(steps: pd.DataFrame) -> plt.Figure:
    """Per-step estimates of streaming runs over the true MI schedule.

    ``steps`` has columns estimator, step, estimate, true_mi (what ``mibench staircase`` writes).
    """
    fig, ax = plt.subplots(figsize=(8.5, 5))
    for est, g in steps.groupby("estimator"):
        g = g.sort_values("step")
        smooth = g["estimate"].rolling(max(1, len(g) // 100), min_periods=1).mean()
        ax.plot(g["step"], g["estimate"], alpha=0.2, lw=0.6)
        ax.plot(g["step"], smooth, lw=1.6, label=est, color=ax.lines[-1].get_color())
    first = steps[steps["estimator"] == steps["estimator"].iloc[0]].sort_values("step")
    ax.plot(first["step"], first["true_mi"], color="black", lw=2, ls="--", label="true MI")
    ax.set(xlabel="training step", ylabel="MI [nats]", title="Staircase: estimates while the true MI steps up")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def save(fig: plt.Figure, path_stem: str | Path) -> list[Path]:
    """Write ``stem.png`` and ``stem.svg``; returns both paths."""
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    fig.savefig(out[0], dpi=110, metadata={"Software": None})
    fig.savefig(out[1], metadata=_SVG_META)
    plt.close(fig)
    return out


def _plain_log_ticks(ax, axes: str = "xy") -> None:
    """Log axes labelled 1000, 0.01, ... instead of 10^3, 10^-2 (and no cluttered minor labels)."""
    fmt = mticker.FuncFormatter(lambda v, _: f"{v:g}")
    for name in axes:
        axis = ax.xaxis if name == "x" else ax.yaxis
        axis.set_major_locator(mticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(fmt)
        axis.set_minor_formatter(mticker.NullFormatter())


def _unique_legend(axes):
    seen: dict[str, object] = {}
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    return list(seen.values()), list(seen.keys())
