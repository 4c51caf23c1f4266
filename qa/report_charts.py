"""The charts of an evaluation report, drawn by matplotlib as inline SVG.

Text stays text in the SVG (``svg.fonttype = none``), so the browser draws the Chinese labels
with its own fonts and the page needs no font files and no network.
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import matplotlib

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # after choosing the backend

PALETTE = ("#2563eb", "#f59e0b", "#10b981", "#ef4444")
_STYLE = {
    "svg.fonttype": "none",
    "font.family": ["Noto Sans CJK SC", "WenQuanYi Zen Hei", "PingFang SC", "sans-serif"],
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "archive-qa",  # the same run gives the same file
}


def _svg(figure: Any) -> str:
    """The figure as an <svg> element (no XML prolog), sized by CSS."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    return re.sub(r'(<svg[^>]*?) width="[^"]*" height="[^"]*"', r"\1", svg, count=1)


@contextmanager
def _drawing(width: float, height: float) -> Iterator[tuple[Any, Any]]:
    """A figure and its axes in the report's style. Missing-glyph warnings are silenced:
    the layout font lacks Chinese, the browser draws the text."""
    with plt.rc_context(_STYLE), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
        yield plt.subplots(figsize=(width, height))


def grouped_bars(
    title: str,
    groups: Sequence[str],
    series: dict[str, Sequence[float | None]],
    ylabel: str,
    ymax: float | None = 1.0,
) -> str:
    """Bars per group (question type), one colour per series (a metric, or a run)."""
    with _drawing(6.0, 3.2) as (figure, axes):
        width = 0.8 / max(1, len(series))
        for index, (name, values) in enumerate(series.items()):
            xs = [g + index * width - 0.4 + width / 2 for g in range(len(groups))]
            heights = [v if v is not None else 0.0 for v in values]
            bars = axes.bar(xs, heights, width, label=name, color=PALETTE[index % len(PALETTE)])
            for bar, value in zip(bars, values, strict=True):
                if value is not None:
                    axes.annotate(
                        f"{value:.2f}" if ymax == 1.0 else f"{value:g}",
                        (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center",
                        va="bottom",
                        fontsize=7,
                    )
        axes.set_xticks(range(len(groups)), groups, rotation=30 if len(groups) > 5 else 0)
        axes.set_ylabel(ylabel)
        axes.set_title(title, pad=22 if len(series) > 1 else 6)
        if ymax is not None:
            axes.set_ylim(0, ymax * 1.1)
        if len(series) > 1:
            axes.legend(
                fontsize=8, frameon=False, ncols=len(series), loc="lower center",
                bbox_to_anchor=(0.5, 1.0),
            )  # fmt: skip
        return _svg(figure)


def histogram(title: str, samples: dict[str, Sequence[float]], xlabel: str) -> str:
    """Distribution of latencies; several runs overlaid."""
    with _drawing(5.5, 2.8) as (figure, axes):
        every = [v for values in samples.values() for v in values]
        bins = min(30, max(5, len(every) // 3)) if every else 5
        upper = max(every) if every else 1.0
        for index, (name, values) in enumerate(samples.items()):
            axes.hist(
                values,
                bins=bins,
                range=(0, upper),
                alpha=0.6 if len(samples) > 1 else 0.9,
                label=name,
                color=PALETTE[index % len(PALETTE)],
            )
        axes.set_xlabel(xlabel)
        axes.set_ylabel("题数")
        axes.set_title(title)
        if len(samples) > 1:
            axes.legend(fontsize=8, frameon=False)
        return _svg(figure)


def precision_recall(
    title: str,
    curves: dict[str, list[tuple[float, float, float]]],
    chosen: dict[str, tuple[float, float] | None],
) -> str:
    """Refusal precision against recall as the verdict threshold moves; the operating point
    each run used marked."""
    with _drawing(4.2, 3.4) as (figure, axes):
        for index, (name, points) in enumerate(curves.items()):
            colour = PALETTE[index % len(PALETTE)]
            recalls = [r for _, _, r in points]
            precisions = [p for _, p, _ in points]
            axes.plot(recalls, precisions, marker=".", color=colour, label=name)
            point = chosen.get(name)
            if point is not None:
                axes.scatter(
                    [point[1]], [point[0]], s=80, facecolors="none", edgecolors=colour, zorder=3
                )
        _unit_square(
            axes,
            "拒答召回率（该拒的拒了多少）",
            "拒答精确率（拒的里该拒的比例）",
            title,
            "lower left",
        )
        return _svg(figure)


def reliability_diagram(title: str, bins: dict[str, list[tuple[float, float, int]]]) -> str:
    """Observed share correct against the verdict's mean probability, per probability bin
    (marker size: candidates in the bin); the diagonal is perfect calibration."""
    with _drawing(4.2, 3.4) as (figure, axes):
        axes.plot([0, 1], [0, 1], color="#9ca3af", linestyle="--", linewidth=1)
        for index, (name, points) in enumerate(bins.items()):
            colour = PALETTE[index % len(PALETTE)]
            xs = [mean for mean, _, _ in points]
            ys = [share for _, share, _ in points]
            sizes = [12 + 16 * count**0.5 for _, _, count in points]
            axes.plot(xs, ys, color=colour, label=name, linewidth=1)
            axes.scatter(xs, ys, s=sizes, color=colour, zorder=3)
        _unit_square(axes, "判定给出的正确概率（分箱平均）", "实际正确的比例", title, "upper left")
        return _svg(figure)


def _unit_square(axes: Any, xlabel: str, ylabel: str, title: str, legend: str) -> None:
    """Labels, title and legend of a chart of two shares (both axes 0..1)."""
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_xlim(-0.02, 1.02)
    axes.set_ylim(-0.02, 1.05)
    axes.set_title(title)
    axes.legend(fontsize=8, frameon=False, loc=legend)
