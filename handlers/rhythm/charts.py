"""A PNG chart of reports by topic over the last weeks (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

MAX_SERIES = 6


def topic_chart(
    path: Path,
    title: str,
    weeks: list[str],
    series: dict[str, list[int]],
    other_label: str,
) -> Path:
    """Stacked bars: one bar a week, one colour a topic (the biggest ones, the rest together).

    Blocking: call it through ``asyncio.to_thread``.
    """
    # imported here: matplotlib takes seconds to load, and only the digest needs it
    import matplotlib

    matplotlib.use("Agg")  # before pyplot: no display on a server
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    ranked = sorted(series.items(), key=lambda kv: (-sum(kv[1]), kv[0]))
    shown = dict(ranked[:MAX_SERIES])
    rest = [sum(values[i] for _, values in ranked[MAX_SERIES:]) for i in range(len(weeks))]
    if any(rest):
        shown[other_label] = rest
    figure, axes = plt.subplots(figsize=(7, 3.6), dpi=90)
    try:
        bottom = [0] * len(weeks)
        for label, values in shown.items():
            axes.bar(weeks, values, bottom=bottom, label=label)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        axes.set_title(title, fontsize=10)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        if shown:
            axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        figure.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, format="png")
    finally:
        plt.close(figure)
    return path
