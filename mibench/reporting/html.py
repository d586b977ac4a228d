"""The one HTML template of mibench's pages (leaderboard and report): a self-contained page with
its style sheet inline, tables and figures. Every name that comes from a task or plug-in is escaped."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1200px;padding:1.5em;
color:#222;line-height:1.45}
h1{margin-bottom:0.2em} h2{border-bottom:2px solid #ddd;padding-bottom:0.2em;margin-top:2em}
table{border-collapse:collapse;margin:0.8em 0;font-size:0.88em}
th{background:#f3f4f6;position:sticky;top:0} td,th{border:1px solid #d1d5db;padding:3px 8px;text-align:right}
td:first-child,td:nth-child(2),th{text-align:left} tr:nth-child(even) td{background:#fafafa}
figure{margin:1em 0} figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:0.9em} .note{color:#555;font-size:0.92em} code{background:#f3f4f6;padding:0 3px}
"""


def esc(text) -> str:
    return html.escape(str(text))


def table(df: pd.DataFrame) -> str:
    return df.to_html(index=False, escape=True, float_format=lambda v: f"{v:.4g}", na_rep="–", border=0)


def note(text: str) -> str:
    return f"<p class='note'>{esc(text)}</p>"


def figure(path: Path, caption: str) -> str:
    """A PNG embedded as base64 (the page needs no other file and no network)."""
    data = base64.b64encode(Path(path).read_bytes()).decode()
    cap = esc(caption)
    return f'<figure><img src="data:image/png;base64,{data}" alt="{cap}"><figcaption>{cap}</figcaption></figure>'


def page(title: str, parts: list[str]) -> str:
    return "\n".join([
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        *parts,
        "</body></html>\n",
    ])
