"""Text renderings shared by the front-ends: the surprise heat map, the bars, word wrapping.

The heat map colours the background of each character by how surprising it was to the model (in
bits), so a surprising space shows too. The terminal's ramp is colour-blind safe (Okabe-Ito:
no colour for the expected, then sky blue, yellow, vermillion); Discord's ```ansi blocks know only
eight colours, so there the foreground changes instead. Without colour (NO_COLOR, pipes) a row of
marks under the text says the same. Nothing here does I/O.
"""
from __future__ import annotations

from dataclasses import dataclass

# (upper bound in bits, mark without colour, label) of each surprise level
LEVELS = [(1.0, " ", "≤1"), (3.0, "·", "1–3"), (6.0, "+", "3–6"), (float("inf"), "#", ">6")]
LEGEND_TITLE = "sorpresa (bits por carácter)"
VISIBLE = {"\n": "⏎", "\t": "→"}
RESET = "\x1b[0m"


@dataclass(frozen=True)
class Palette:
    codes: tuple[str, str, str, str]  # SGR parameters of each level ("" = unchanged)


# 256-colour backgrounds with black text: none, sky blue, yellow, vermillion
TERMINAL = Palette(("", "48;5;117;38;5;16", "48;5;220;38;5;16", "48;5;202;38;5;16"))
# Discord renders the eight basic foreground colours: green, cyan, yellow, red
DISCORD = Palette(("32", "36", "33", "31"))


def level(bits: float) -> int:
    return next(i for i, (bound, _, _) in enumerate(LEVELS) if bits <= bound)


def shown(char: str) -> str:
    return VISIBLE.get(char, char)


def wrap_heat(heat: list[tuple[str, float]], width: int | None) -> list[list[tuple[str, float]]]:
    """The characters in lines of at most `width`, broken after a space where one is near."""
    lines, line = [], []
    for char, bits in heat:
        line.append((char, bits))
        if width and len(line) >= width:
            spaces = [i for i, (c, _) in enumerate(line) if c == " "]
            cut = spaces[-1] + 1 if spaces and spaces[-1] >= width // 2 else len(line)
            lines.append(line[:cut])
            line = line[cut:]
        elif char == "\n":
            lines.append(line)
            line = []
    return [*lines, line] if line or not lines else lines


def legend(palette: Palette | None) -> str:
    if palette is None:
        marks = "  ".join(f"«{mark}» {label}" for _, mark, label in LEVELS)
        return f"{LEGEND_TITLE}: {marks}"
    keys = " ".join(f"\x1b[{code}m {label} {RESET}" if code else f" {label} "
                    for (_, _, label), code in zip(LEVELS, palette.codes))
    return f"{LEGEND_TITLE}: {keys}"


def heatmap_ansi(heat: list[tuple[str, float]], palette: Palette = TERMINAL,
                 width: int | None = None) -> str:
    """Each character on the colour of its surprise; a code only where the colour changes."""
    rows = []
    for line in wrap_heat(heat, width):
        out, current = [], None
        for char, bits in line:
            code = palette.codes[level(bits)]
            if code != current:
                out.append(RESET + (f"\x1b[{code}m" if code else ""))
                current = code
            out.append(shown(char))
        rows.append("".join(out) + RESET)
    return "\n".join(rows) + "\n" + legend(palette)


def heatmap_plain(heat: list[tuple[str, float]], width: int | None = None) -> str:
    """The text, with a row of marks under each line: the same levels without colour."""
    rows = []
    for line in wrap_heat(heat, width):
        rows.append("".join(shown(c) for c, _ in line))
        rows.append("".join(LEVELS[level(b)][1] for _, b in line).rstrip())
    return "\n".join(rows) + "\n" + legend(None)


def most_surprising(heat: list[tuple[str, float]], worst: int = 5) -> str:
    top = sorted(range(len(heat)), key=lambda i: -heat[i][1])[:worst]
    listed = ", ".join(f"«{shown(heat[i][0])}» en la posición {i + 1} ({heat[i][1]:.1f} bits)"
                       for i in top)
    return f"más sorprendentes: {listed}"


def bars(distribution: list[tuple[str, float]], width: int = 30, unicode: bool = True,
         smallest: float = 0.0005) -> str:
    """One line per character whose probability shows (≥ 0.05 %): the character, a bar
    proportional to its probability, the percentage."""
    shown_rows = [(c, p) for c, p in distribution if p >= smallest] or distribution[:1]
    if not shown_rows:
        return ""
    peak = max(p for _, p in shown_rows) or 1.0
    lines = []
    for char, p in shown_rows:
        cells = p / peak * width
        if unicode:
            full, part = int(cells), int((cells - int(cells)) * 8)
            bar = "█" * full + ("▏▎▍▌▋▊▉"[part - 1] if part else "")
        else:
            bar = "#" * round(cells)
        lines.append(f"{'«' + shown(char) + '»':>5} {bar:<{width + 1}} {p * 100:5.1f} %")
    return "\n".join(lines)


def bar_width(columns: int | None) -> int:
    """Bars that fit the terminal: the character (5), a space, the bar, the percentage (8)."""
    return 30 if columns is None else max(5, min(40, columns - 16))


def wrap(text: str, width: int | None) -> str:
    """Each line broken at word boundaries to `width` columns (None: as it is)."""
    if not width:
        return text
    out = []
    for line in text.split("\n"):
        while len(line) > width:
            cut = line.rfind(" ", 0, width + 1)
            if cut <= 0:
                cut = width
            out.append(line[:cut].rstrip(" "))
            line = line[cut:].lstrip(" ")
        out.append(line)
    return "\n".join(out)
