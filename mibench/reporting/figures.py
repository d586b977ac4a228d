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
matplotlib.rcParams["svg.hashsalt"] = "mibench"  # fixed clip-path ids: the same figure, the same SVG


def _largest_n(summary: pd.DataFrame) -> pd.DataFrame:
    """Per (task, estimator), the line with the largest sample size."""
    idx = summary.groupby(["task_id", "estimator"])["n"].idxmax()
    return summary.loc[idx]


def _curve_n(s: pd.DataFrame) -> pd.DataFrame:
    """Per (panel, estimator), the rows at one sample size: the size most of the curve's tasks ran at
    (the largest among ties), so that a curve never mixes sizes (a protocol that also runs one MI
    level at N = 10^5 must not lift that one point); tasks without that size keep their largest n."""
    keep = []
    for _, g in s.groupby(["panel", "estimator"], sort=False):
        counts = g.groupby("n")["task_id"].nunique()
        n = max(counts.index, key=lambda m: (counts[m], m))
        at_n = g[g["n"] == n]
        rest = g[~g["task_id"].isin(at_n["task_id"])]
        keep += [at_n, _largest_n(rest)] if len(rest) else [at_n]
    return pd.concat(keep) if keep else s


def _palette(estimators) -> dict:
    names = sorted(set(estimators))
    colours = sns.color_palette("tab10", 10) + sns.color_palette("Dark2", 8) + sns.color_palette("Set1", 9)
    return {e: colours[i % len(colours)] for i, e in enumerate(names)}


def _curve_group(row) -> str:
    """Tasks that lie on one curve of estimate vs truth: the same family and dimensions (the MI level
    varies along the curve)."""
    dims = "" if pd.isna(row.get("dim_x")) else f", {int(row['dim_x'])}+{int(row['dim_y'])}-d"
    return f"{row['family']}{dims}"


def estimate_vs_truth(summary: pd.DataFrame, rows: pd.DataFrame | None = None) -> plt.Figure:
    """Mean estimate against the true MI, one panel per family (and dimensions when ``rows`` give
    them): a line per estimator over the MI levels, a band of +-1 std over seeds, the identity, and
    InfoNCE's ceiling log(n_test) (its held-out read-out never exceeds it) where InfoNCE ran."""
    s = summary.dropna(subset=["mean"]).copy()
    if rows is not None and "dim_x" in rows:
        dims = rows.drop_duplicates("task_id").set_index("task_id")[["dim_x", "dim_y"]]
        s = s.join(dims, on="task_id")
    s["panel"] = [_curve_group(r) for _, r in s.iterrows()]
    s = _curve_n(s)
    panels = sorted(s["panel"].unique())
    cols = min(3, max(1, len(panels)))
    nrows = int(np.ceil(len(panels) / cols))
    fig, axes = plt.subplots(nrows, cols, figsize=(5.2 * cols, 4.4 * nrows), squeeze=False)
    palette = _palette(summary["estimator"])
    for ax, panel in zip(axes.flat, panels):
        d = s[s["panel"] == panel]
        # axis limits follow the truth, not the estimates: one estimator off by 10^3 nats must not
        # squash the others; off-scale means are drawn at the edge as open triangles
        tmax = float(max(d["truth"].max(), 0.1))
        lo, hi = -0.3 * tmax - 0.2, 1.8 * tmax + 0.2
        for est, g in d.groupby("estimator"):
            g = g.sort_values("truth")
            inside = g["mean"].between(lo, hi)
            sd = g["std"].fillna(0)
            if g["truth"].nunique() >= 3:  # a curve over the MI grid
                ax.plot(g["truth"], g["mean"].clip(lo, hi), "-o", ms=3.5, lw=1.4, color=palette[est], label=est)
                ax.fill_between(g["truth"], (g["mean"] - sd).clip(lo, hi), (g["mean"] + sd).clip(lo, hi),
                                color=palette[est], alpha=0.15, lw=0)
            else:
                ax.errorbar(g["truth"][inside], g["mean"][inside], yerr=sd[inside], fmt="o", ms=5, capsize=3,
                            color=palette[est], label=est, alpha=0.85)
            out = g[~inside]
            if len(out):
                ax.scatter(out["truth"], out["mean"].clip(lo, hi), marker=np.where(out["mean"] > hi, "^", "v")[0],
                           s=60, facecolors="none", edgecolors=palette[est])
        ax.plot([0, hi], [0, hi], color="0.3", ls="--", lw=1, label="identity")
        nce = d[d["estimator"].str.startswith("infonce")]
        if len(nce):
            ceiling = float(np.log(nce["n"].max() / 2))  # held-out split of the default protocols: n / 2
            if ceiling < hi:
                ax.axhline(ceiling, color=palette[nce["estimator"].iloc[0]], ls=":", lw=1.2,
                           label="InfoNCE ceiling log(n/2)")
        sizes = sorted(d["n"].unique())
        ax.set(title=panel + (f", N = {sizes[0]:g}" if len(sizes) == 1 else ""), xlabel="true MI [nats]",
               ylabel="estimated MI [nats]", ylim=(lo, hi), xlim=(-0.05 * tmax, 1.1 * tmax))
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    handles, labels = _unique_legend(axes)
    fig.legend(handles, labels, loc="lower center", ncol=min(6, len(labels)), frameon=False, fontsize=8)
    fig.suptitle("Estimate vs truth (per curve the N most of its points share; band/bars: std over seeds; "
                 "triangles: off the scale)", fontsize=14)
    fig.tight_layout(rect=(0, 0.05 + 0.025 * (len(labels) // 6), 1, 0.95))
    return fig


def bias_heatmap(summary: pd.DataFrame, title: str = "") -> plt.Figure:
    """Bias (mean estimate - truth) per estimator and task at the largest n, centred at zero; tasks
    grouped by family (separated by vertical lines, the family named below)."""
    s = _largest_n(summary)
    order = s.drop_duplicates("task_id").sort_values(["family", "truth", "task_id"])
    table = s.pivot(index="estimator", columns="task_id", values="bias")[list(order["task_id"])]
    values = np.abs(table.values[np.isfinite(table.values)])
    # colour scale from the 90th percentile, so that a few huge biases do not wash out the rest
    lim = float(max(np.quantile(values, 0.9), 0.05)) if values.size else 1.0
    labels = table.map(lambda v: "" if not np.isfinite(v) else (f"{v:.0e}" if abs(v) >= 100 else f"{v:.2f}"))
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * table.shape[1] + 4), max(3, 0.42 * table.shape[0] + 3.4)))
    sns.heatmap(table, cmap="RdBu_r", center=0, vmin=-lim, vmax=lim, annot=labels if table.shape[1] <= 30 else False,
                fmt="", annot_kws={"size": 7}, linewidths=0.5,
                cbar_kws={"label": f"bias [nats] (colours saturate at ±{lim:.2g})"}, ax=ax)
    families = list(order["family"])
    for i in range(1, len(families)):
        if families[i] != families[i - 1]:
            ax.axvline(i, color="0.15", lw=1.5)
    ax.set(title=f"Bias of each estimator [nats]{': ' + title if title else ''} (largest n; blue: under, red: over)",
           xlabel="task (grouped by family)", ylabel="")
    ax.tick_params(axis="x", labelrotation=60, labelsize=8)
    ax.tick_params(axis="y", labelrotation=0, labelsize=9)
    plt.setp(ax.get_xticklabels(), ha="right")
    fig.tight_layout()
    return fig


def error_vs_n(summary: pd.DataFrame) -> plt.Figure:
    """Mean absolute error (nats) against the sample size, log-log, one line per estimator (mean
    over the tasks it ran at every size), with the N^-1/2 slope of a parametric rate for reference."""
    s = summary.dropna(subset=["mae"])
    sizes = s.groupby(["task_id", "estimator"])["n"].transform("nunique")
    s = s[sizes >= 2]
    fig, ax = plt.subplots(figsize=(9, 5.5))
    palette = _palette(summary["estimator"])
    for est, g in s.groupby("estimator"):
        line = g.groupby("n")["mae"].mean()
        ax.plot(line.index, line.values, "-o", ms=4, color=palette[est], label=est)
    if len(s):
        n0, n1 = float(s["n"].min()), float(s["n"].max())
        ref0 = float(s.groupby("n")["mae"].median().iloc[0])
        ax.plot([n0, n1], [ref0, ref0 * (n1 / n0) ** -0.5], color="0.2", ls="--", lw=1.2, label="slope N^-1/2")
    ax.set(xscale="log", yscale="log", xlabel="sample size N", ylabel="mean absolute error [nats]",
           title="Error vs sample size (mean over tasks; log-log)")
    _plain_log_ticks(ax)
    ax.legend(fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left")
    fig.tight_layout()
    return fig


DIM_EDGES = (0, 1, 2, 4, 8, 16, 32, np.inf)
MI_EDGES = (0, 1, 2.5, 5, 7.5, np.inf)


def error_map_table(summary: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """Per (estimator, n, dimension bin, MI bin): the cells and their MAE (nats) and median relative
    error, with d = max(d_x, d_y) from ``rows``; the data of ``error_map``."""
    dims = rows.drop_duplicates("task_id").set_index("task_id")[["dim_x", "dim_y"]]
    s = summary.join(dims, on="task_id").dropna(subset=["dim_x", "mae"])
    d = np.maximum(s["dim_x"], s["dim_y"])
    s = s.assign(dim=pd.cut(d, DIM_EDGES, right=True, labels=_bin_labels(DIM_EDGES, "d")),
                 mi=pd.cut(s["truth"], MI_EDGES, right=False, labels=_bin_labels(MI_EDGES, "MI")))
    g = s.groupby(["estimator", "n", "dim", "mi"], observed=True)
    return g.agg(cells=("mae", "size"), mae=("mae", "mean"), rel_error=("rel_error", "median")).reset_index()


def _bin_labels(edges, name) -> list[str]:
    """"d" bins are integer ranges (lo, hi]: 1, 2, 3-4, ...; "MI" bins are [lo, hi) in nats."""
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        if not np.isfinite(hi):
            out.append(f"{name} > {lo:g}" if name == "d" else f">= {lo:g}")
        elif name == "MI":
            out.append(f"{lo:g}-{hi:g}")
        else:
            out.append(f"{hi:g}" if hi - lo == 1 else f"{lo + 1:g}-{hi:g}")
    return out


def error_map(table: pd.DataFrame) -> plt.Figure:
    """Where each estimator breaks: its MAE (nats; colour, log scale) over the dimension x true MI
    plane of the generated tasks, one panel per estimator (and sample size)."""
    panels = sorted({(e, int(n)) for e, n in zip(table["estimator"], table["n"])})
    cols = min(4, max(1, len(panels)))
    nrows = int(np.ceil(len(panels) / cols))
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.6 * nrows), squeeze=False)
    positive = table["mae"][table["mae"] > 0]
    vmin, vmax = (float(positive.quantile(0.02)), float(positive.max())) if len(positive) else (1e-3, 1.0)
    norm = matplotlib.colors.LogNorm(vmin=max(vmin, 1e-3), vmax=max(vmax, 2 * max(vmin, 1e-3)))
    dims = _bin_labels(DIM_EDGES, "d")
    mis = _bin_labels(MI_EDGES, "MI")
    image = None
    for ax, (est, n) in zip(axes.flat, panels):
        part = table[(table["estimator"] == est) & (table["n"] == n)]
        grid = part.pivot_table(index="mi", columns="dim", values="mae", observed=False).reindex(
            index=mis, columns=dims)
        image = ax.imshow(grid.to_numpy(dtype=float), origin="lower", aspect="auto", cmap="magma_r", norm=norm)
        ax.set_xticks(range(len(dims)), dims, rotation=45, fontsize=7)
        ax.set_yticks(range(len(mis)), mis, fontsize=7)
        ax.set(title=f"{est} (n = {n})", xlabel="d = max(d_x, d_y)", ylabel="true MI [nats]")
        ax.grid(False)
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    if image is not None:
        fig.colorbar(image, ax=list(axes.flat), label="MAE [nats] (log scale; blank: no task)", shrink=0.8)
    fig.suptitle("Where each estimator breaks: error over the generated tasks", fontsize=13)
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


def pareto_front(points: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """The points not dominated by another (lower or equal in both ``x`` and ``y``, lower in one)."""
    p = points.dropna(subset=[x, y]).sort_values([x, y])
    front, best = [], np.inf
    for _, r in p.iterrows():
        if r[y] < best:
            front.append(r)
            best = r[y]
    return pd.DataFrame(front)


def accuracy_vs_cost(summary: pd.DataFrame, title: str = "") -> plt.Figure:
    """Mean absolute error against mean CPU seconds per estimate (wall seconds where CPU time was
    not recorded), one point per estimator, the Pareto front (no estimator both cheaper and more
    accurate) joined by a line."""
    cost = summary["cpu_seconds"].where(summary["cpu_seconds"].notna(), summary["seconds"]) \
        if "cpu_seconds" in summary else summary["seconds"]
    g = summary.assign(cost=cost).groupby("estimator").agg(mae=("mae", "mean"), seconds=("cost", "mean"))
    g = g.reset_index().dropna()
    g = g[(g["seconds"] > 0) & (g["mae"] > 0)]
    fig, ax = plt.subplots(figsize=(9, 6))
    palette = _palette(g["estimator"])
    front = pareto_front(g, "seconds", "mae")
    sns.scatterplot(data=g, x="seconds", y="mae", hue="estimator", palette=palette, s=90, ax=ax, legend=False)
    if len(front):
        ax.plot(front["seconds"], front["mae"], color="0.25", lw=1.2, ls="-", zorder=0, label="Pareto front")
        ax.scatter(front["seconds"], front["mae"], s=220, facecolors="none", edgecolors="0.25", lw=1.2)
        ax.legend(loc="upper right", fontsize=8)
    ax.set(xscale="log", yscale="log", xlabel="mean CPU time per estimate [s]", ylabel="mean absolute error [nats]",
           title=f"Accuracy vs cost{': ' + title if title else ''} (lower left is better; circled: Pareto front)")
    _plain_log_ticks(ax)
    fig.tight_layout()
    # neural bounds cluster at ~10 s and similar errors: let adjustText move labels apart, with leader lines
    texts = [ax.text(r.seconds, r.mae, r.estimator, fontsize=7) for r in g.itertuples()]
    if texts:
        adjust_text(texts, x=g["seconds"].to_numpy(), y=g["mae"].to_numpy(), ax=ax,
                    arrowprops={"arrowstyle": "-", "color": "0.5", "lw": 0.5})
    return fig


def calibration(summary: pd.DataFrame) -> plt.Figure:
    """Empirical coverage of the truth by each estimator's intervals against their nominal level
    (pooled over tasks and seeds; bars: binomial standard error), the diagonal is calibrated."""
    s = summary.dropna(subset=["coverage", "ci_level"])
    s = s.assign(hits=s["coverage"] * s["seeds"])
    g = s.groupby(["estimator", "ci_level"]).agg(hits=("hits", "sum"), seeds=("seeds", "sum")).reset_index()
    g["coverage"] = g["hits"] / g["seeds"]
    g["se"] = np.sqrt(g["coverage"] * (1 - g["coverage"]) / g["seeds"].clip(lower=1))
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    palette = _palette(g["estimator"])
    for est, d in g.groupby("estimator"):
        jitter = 0.004 * (sorted(palette).index(est) - len(palette) / 2)
        ax.errorbar(d["ci_level"] + jitter, d["coverage"], yerr=d["se"], fmt="o", capsize=3, color=palette[est],
                    label=f"{est} ({int(d['seeds'].sum())} intervals)")
    ax.plot([0, 1], [0, 1], color="0.3", ls="--", lw=1, label="calibrated")
    lo = float(min(0.5, g["coverage"].min() - 0.05)) if len(g) else 0.5
    ax.set(xlim=(max(0, lo), 1.0), ylim=(max(0, lo) - 0.02, 1.02), xlabel="nominal level of the interval",
           ylabel="empirical coverage of the truth", title="Calibration of the reported intervals")
    ax.legend(fontsize=7, loc="lower right")
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
