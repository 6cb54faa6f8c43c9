"""Text renderings shared by the front-ends: the surprise heat map and the bar chart.

ANSI colour is understood by terminals and by Discord's ```ansi code blocks; the plain forms are
for pipes and files. Nothing here does I/O.
"""
from __future__ import annotations

# (upper bound in bits, ANSI colour code, label): how surprising a character was to the model
LEVELS = [(1.0, "32", "≤1"), (3.0, "36", "≤3"), (6.0, "33", "≤6"), (float("inf"), "31", ">6")]
VISIBLE = {"\n": "⏎", "\t": "→"}


def level(bits: float) -> int:
    return next(i for i, (bound, _, _) in enumerate(LEVELS) if bits <= bound)


def shown(char: str) -> str:
    return VISIBLE.get(char, char)


def heatmap_ansi(heat: list[tuple[str, float]]) -> str:
    """Each character in the colour of its surprise; a code only where the colour changes."""
    out, current = [], None
    for char, bits in heat:
        code = LEVELS[level(bits)][1]
        if code != current:
            out.append(f"\x1b[{code}m")
            current = code
        out.append(shown(char))
    legend = " ".join(f"\x1b[{code}m■ {label}" for _, code, label in LEVELS)
    return "".join(out) + "\x1b[0m\n" + legend + " bits\x1b[0m"


def heatmap_plain(heat: list[tuple[str, float]], worst: int = 5) -> str:
    text = "".join(shown(c) for c, _ in heat)
    top = sorted(range(len(heat)), key=lambda i: -heat[i][1])[:worst]
    listed = ", ".join(f"{shown(heat[i][0])!r} en {i + 1} ({heat[i][1]:.1f} bits)" for i in top)
    return f"{text}\nmás sorprendentes: {listed}"


def bars(distribution: list[tuple[str, float]], width: int = 30, unicode: bool = True) -> str:
    """One line per character: the character, a bar proportional to its probability, the %."""
    if not distribution:
        return ""
    peak = max(p for _, p in distribution) or 1.0
    lines = []
    for char, p in distribution:
        cells = p / peak * width
        if unicode:
            full, part = int(cells), int((cells - int(cells)) * 8)
            bar = "█" * full + ("▏▎▍▌▋▊▉"[part - 1] if part else "")
        else:
            bar = "#" * round(cells)
        lines.append(f"{shown(char)!r:>5} {bar:<{width + 1}} {p * 100:5.1f} %")
    return "\n".join(lines)
