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
from adjustText import adjust_text  # noqa: E402

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
        # axis limits follow the truth, not the estimates: one estimator off by 10^3 nats must not
        # squash the others; off-scale means are drawn at the edge as open triangles
        tmax = float(max(d["truth"].max(), 0.1))
        lo, hi = -0.3 * tmax - 0.2, 1.8 * tmax + 0.2
        for est, g in d.groupby("estimator"):
            inside = g["mean"].between(lo, hi)
            ax.errorbar(g["truth"][inside], g["mean"][inside], yerr=g["std"][inside].fillna(0), fmt="o", ms=5,
                        capsize=3, color=palette[est], label=est, alpha=0.85)
            out = g[~inside]
            if len(out):
                ax.scatter(out["truth"], out["mean"].clip(lo, hi), marker=np.where(out["mean"] > hi, "^", "v")[0],
                           s=60, facecolors="none", edgecolors=palette[est])
        ax.plot([0, hi], [0, hi], color="0.3", ls="--", lw=1, label="identity")
        ax.set(title=fam, xlabel="true MI [nats]", ylabel="estimated MI [nats]", ylim=(lo, hi),
               xlim=(-0.05 * tmax, 1.1 * tmax))
    for ax in axes.flat[len(families):]:
        ax.axis("off")
    handles, labels = _unique_legend(axes)
    fig.legend(handles, labels, loc="lower center", ncol=min(6, len(labels)), frameon=False)
    fig.suptitle("Estimate vs truth (largest n; bars: std over seeds; triangles: off the scale)", fontsize=14)
    fig.tight_layout(rect=(0, 0.06 + 0.02 * (len(labels) // 6), 1, 0.95))
    return fig


def bias_heatmap(summary: pd.DataFrame) -> plt.Figure:
    """Bias (mean estimate - truth) per estimator and task at the largest n, centred at zero."""
    s = _largest_n(summary)
    table = s.pivot(index="estimator", columns="task_id", values="bias")
    values = np.abs(table.values[np.isfinite(table.values)])
    # colour scale from the 90th percentile, so that a few huge biases do not wash out the rest
    lim = float(max(np.quantile(values, 0.9), 0.05)) if values.size else 1.0
    labels = table.map(lambda v: "" if not np.isfinite(v) else (f"{v:.0e}" if abs(v) >= 100 else f"{v:.2f}"))
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * table.shape[1] + 4), max(3, 0.42 * table.shape[0] + 2.8)))
    sns.heatmap(table, cmap="RdBu_r", center=0, vmin=-lim, vmax=lim, annot=labels if table.shape[1] <= 30 else False,
                fmt="", annot_kws={"size": 7}, linewidths=0.5,
                cbar_kws={"label": f"bias [nats] (colours saturate at ±{lim:.2g})"}, ax=ax)
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
    fig, ax = plt.subplots(figsize=(10, 5.5))
    sns.lineplot(data=d, x="n", y="seconds", hue="estimator [device]", marker="o", ax=ax)
    ax.set(xscale="log", yscale="log", xlabel="sample size n", ylabel="mean time per estimate [s]",
           title="Runtime vs sample size")
    _plain_log_ticks(ax)
    ax.legend(fontsize=7, title="estimator [device]", title_fontsize=8, bbox_to_anchor=(1.01, 1), loc="upper left")
    fig.tight_layout()
    return fig


def accuracy_vs_cost(summary: pd.DataFrame) -> plt.Figure:
    """Mean absolute error against mean seconds, one point per estimator (over all cells)."""
    g = summary.groupby("estimator").agg(mae=("mae", "mean"), seconds=("seconds", "mean")).reset_index()
    g = g.dropna()
    fig, ax = plt.subplots(figsize=(9, 6))
    sns.scatterplot(data=g, x="seconds", y="mae", hue="estimator", s=90, ax=ax, legend=False)
    ax.set(xscale="log", yscale="log", xlabel="mean time per estimate [s]", ylabel="mean absolute error [nats]",
           title="Accuracy vs cost (lower left is better; log-log)")
    _plain_log_ticks(ax)
    fig.tight_layout()
    # neural bounds cluster at ~10 s and similar errors: let adjustText move labels apart, with leader lines
    texts = [ax.text(r.seconds, r.mae, r.estimator, fontsize=7) for r in g.itertuples()]
    adjust_text(texts, x=g["seconds"].to_numpy(), y=g["mae"].to_numpy(), ax=ax,
                arrowprops={"arrowstyle": "-", "color": "0.5", "lw": 0.5})
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
