"""The PNG bar chart of the next-character distribution (matplotlib, Agg backend, no display)."""
from __future__ import annotations

import io

from bot.render import shown


def bar_chart_png(distribution: list[tuple[str, float]], title: str) -> bytes:
    """Render the chart; CPU-bound, so front-ends call it off the event loop."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 3.6), dpi=110)
    axes = figure.add_subplot()
    labels = [repr(shown(c)) for c, _ in distribution]
    values = [p * 100 for _, p in distribution]
    bars = axes.bar(labels, values, color="#4c72b0")
    axes.bar_label(bars, fmt="%.1f", fontsize=8)
    axes.set_ylabel("probabilidad (%)")
    axes.set_title(f"siguiente carácter tras «{title}»", fontsize=10)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
