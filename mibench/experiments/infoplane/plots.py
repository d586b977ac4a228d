"""Figures of the information-plane experiment (seaborn; written by ``mibench.figures.save``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import colors as mcolors

from mibench.reporting import figures

plt = figures.plt  # pyplot, after mibench.figures has chosen the file-only (Agg) backend


SMOOTH = 5  #: epochs in the rolling mean that draws each trajectory
BARS = 6  #: error bars drawn per trajectory (evenly spaced epochs, first and last included)
_RULES = {"entropy": "I(L; Y) from entropies", "onehot": "I(L; Y) with one-hot Y"}


def _lower(v: pd.Series, err: pd.Series) -> np.ndarray:
    """Lower half-widths cut at zero (an MI is never negative; the bar keeps its upper half)."""
    return np.clip(v - np.maximum(v - err.fillna(0), 0.0), 0.0, None).to_numpy()


def information_plane(rows: pd.DataFrame) -> plt.Figure:
    """I(L; Y) against I(X; L), one panel per estimator and one trajectory per layer: markers coloured
    by epoch joined by a thin line, the thick line a rolling mean over epochs, bars (at a few epochs)
    the validated error."""
    ests = list(dict.fromkeys(rows["estimator"]))
    fig, axes = plt.subplots(1, len(ests), figsize=(6.2 * len(ests) + 1.4, 5.8), squeeze=False, sharex=True,
                             sharey=True)
    epochs = rows["epoch"]
    norm = mcolors.Normalize(vmin=float(epochs.min()), vmax=float(max(epochs.max(), epochs.min() + 1)))
    cmap = plt.get_cmap("viridis")
    layer_colors = dict(zip(dict.fromkeys(rows["layer"]), sns.color_palette("tab10")))
    for ax, est in zip(axes[0], ests):
        part = rows[rows["estimator"] == est]
        for layer, g in part.groupby("layer", sort=False):
            g = g.sort_values("epoch")
            color = layer_colors[layer]
            shown = g.iloc[np.unique(np.linspace(0, len(g) - 1, min(BARS, len(g))).round().astype(int))]
            ax.errorbar(shown["i_xl"], shown["i_ly"],
                        xerr=[_lower(shown["i_xl"], shown["i_xl_err"]), shown["i_xl_err"].fillna(0)],
                        yerr=[_lower(shown["i_ly"], shown["i_ly_err"]), shown["i_ly_err"].fillna(0)],
                        fmt="none", ecolor=color, alpha=0.35, elinewidth=0.8, capsize=2, zorder=1)
            ax.plot(g["i_xl"], g["i_ly"], color=color, lw=0.6, alpha=0.45, zorder=2)
            smooth = g[["i_xl", "i_ly"]].rolling(SMOOTH, center=True, min_periods=1).mean()
            ax.plot(smooth["i_xl"], smooth["i_ly"], color=color, lw=2.0, zorder=2, label=layer)
            ax.scatter(g["i_xl"], g["i_ly"], c=g["epoch"], cmap=cmap, norm=norm, s=14, zorder=3, alpha=0.85,
                       linewidths=0)
        h_y = float(part["label_entropy"].iloc[0])
        ax.axhline(h_y, color="0.3", ls="--", lw=1)
        ax.annotate("H(Y)", (0.01, h_y), xycoords=("axes fraction", "data"), va="bottom", fontsize=8, color="0.3")
        rule = _RULES.get(str(part["label_rule"].iloc[0]), "")
        ax.set(title=f"{est} ({rule})", xlabel="I(X; L) [nats]", ylabel="I(L; Y) [nats]")
        ax.set_xlim(left=0)
    axes[0, 0].legend(title="layer", fontsize=8, title_fontsize=8, loc="lower right")
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes[0].tolist(), label="epoch", pad=0.02)
    fig.suptitle(f"Information plane: markers per epoch, lines a {SMOOTH}-epoch rolling mean, bars the error of "
                 "the same pipeline on images with known MI", fontsize=10.5)
    return fig


def curves(rows: pd.DataFrame) -> plt.Figure:
    """Per estimator: I(X; L) and I(L; Y) per layer against the epoch (bands: validated error), and the
    train / test accuracy."""
    ests = list(dict.fromkeys(rows["estimator"]))
    fig, axes = plt.subplots(len(ests), 3, figsize=(15, 3.9 * len(ests) + 0.6), squeeze=False)
    palette = dict(zip(dict.fromkeys(rows["layer"]), sns.color_palette("tab10")))
    for r, est in enumerate(ests):
        part = rows[rows["estimator"] == est]
        for c, (q, label) in enumerate((("i_xl", "I(X; L)"), ("i_ly", "I(L; Y)"))):
            ax = axes[r, c]
            for layer, g in part.groupby("layer", sort=False):
                g = g.sort_values("epoch")
                ax.plot(g["epoch"], g[q], color=palette[layer], lw=1.5, label=layer)
                err = g[f"{q}_err"].fillna(0)
                ax.fill_between(g["epoch"], np.maximum(g[q] - err, 0), g[q] + err, color=palette[layer], alpha=0.1,
                                lw=0)
            if q == "i_ly":
                ax.axhline(float(part["label_entropy"].iloc[0]), color="0.3", ls="--", lw=1, label="H(Y)")
                fano = part.drop_duplicates("epoch").sort_values("epoch")
                ax.plot(fano["epoch"], fano["fano_bound"], color="0.3", ls=":", lw=1.2, label="Fano bound (test acc.)")
            ax.set(title=f"{label}: {est}", xlabel="epoch", ylabel=f"{label} [nats]")
        ax = axes[r, 2]
        acc = part.drop_duplicates("epoch").sort_values("epoch")
        ax.plot(acc["epoch"], acc["train_acc"], label="train", lw=1.5)
        ax.plot(acc["epoch"], acc["test_acc"], label="test", lw=1.5)
        ax.set(title="accuracy (noise on)", xlabel="epoch", ylabel="accuracy", ylim=(0, 1.02))
        ax.legend(fontsize=8, loc="lower right")
    handles, labels = axes[0, 1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False, fontsize=9)
    fig.tight_layout(rect=(0, 0.05 / len(ests) + 0.02, 1, 1))
    return fig


def validation_plot(summary: pd.DataFrame) -> plt.Figure:
    """Mean estimate (bars: RMSE) against the true MI of the validation tasks, per quantity."""
    quantities = [("i_xl", "I(X; L) pipeline"), ("i_ly", "I(L; Y) pipeline")]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    for ax, (q, title) in zip(axes, quantities):
        part = summary[summary["quantity"] == q]
        families = ", ".join(sorted(set(part["tasks"]) - {""}))
        title = f"{title}: {families}" if families else title
        for est, g in part.groupby("estimator", sort=False):
            g = g.sort_values("truth")
            ax.errorbar(g["truth"], g["mean"], yerr=g["rmse"], fmt="o-", ms=4, capsize=3, label=est)
        top = float(part["truth"].max()) if len(part) else 1.0
        ax.plot([0, top], [0, top], color="0.3", ls="--", lw=1, label="identity")
        ax.set(title=title, xlabel="true MI [nats]", ylabel="mean estimate [nats]")
        ax.legend(fontsize=8)
    fig.suptitle("Validation of compression + estimator on images with known MI (bars: RMSE over seeds)",
                 fontsize=12)
    fig.tight_layout()
    return fig


def save_figures(rows: pd.DataFrame, out: Path, summary: pd.DataFrame | None = None) -> list[Path]:
    paths = figures.save(information_plane(rows), Path(out) / "infoplane")
    paths += figures.save(curves(rows), Path(out) / "infoplane_curves")
    if summary is not None and len(summary):
        paths += figures.save(validation_plot(summary), Path(out) / "infoplane_validation")
    return paths

