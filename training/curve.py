"""The learning curve of a training run as a PNG: training and validation bits per character by
epoch, with the epochs where the learning rate changed marked."""
from __future__ import annotations

import io


def learning_curve_png(history: list[dict], title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4), dpi=100)
    axes = figure.add_subplot()
    epochs = [h["epoch"] for h in history]
    axes.plot(epochs, [h["train_bits_per_char"] for h in history], "o-", label="entrenamiento")
    axes.plot(epochs, [h["val_bits_per_char"] for h in history], "s-", label="validación")
    for previous, current in zip(history, history[1:]):
        if current["learning_rate"] != previous["learning_rate"]:
            axes.axvline(current["epoch"] - 0.5, color="grey", linestyle=":", linewidth=1)
            axes.annotate(f"lr {current['learning_rate']:.0e}", (current["epoch"] - 0.5, 1),
                          xycoords=("data", "axes fraction"), fontsize=8, color="grey",
                          ha="center", va="bottom")
    axes.set_xlabel("época")
    axes.set_ylabel("bits por carácter")
    axes.set_title(title, fontsize=10)
    axes.set_xticks(epochs)
    axes.legend()
    axes.grid(alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
