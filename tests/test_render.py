"""The console's renderings: a heat map that shows surprising spaces, in colour or in marks, bars
that fit the terminal, and word wrapping."""
from bot import render

HEAT = [("Y", 8.6), (" ", 0.2), ("d", 3.2), ("i", 0.5), ("j", 0.1), ("o", 0.1), (" ", 0.3),
        (" ", 13.5), (" ", 3.7), ("D", 7.5)]


def test_a_surprising_space_gets_a_background_colour():
    coloured = render.heatmap_ansi(HEAT)
    vermillion = "\x1b[" + render.TERMINAL.codes[3] + "m"
    assert vermillion + " " in coloured  # the 13.5-bit space is painted, not invisible
    assert render.LEGEND_TITLE in coloured


def test_without_colour_a_row_of_marks_says_the_same():
    text, marks, legend = render.heatmap_plain(HEAT).split("\n")
    assert text == "Y dijo   D"
    assert marks == "# +    #+#"  # each mark under its character
    assert "\x1b[" not in text + marks + legend and render.LEGEND_TITLE in legend


def test_the_most_surprising_characters_are_listed():
    listed = render.most_surprising(HEAT, worst=2)
    assert "« » en la posición 8 (13.5 bits)" in listed and "«Y» en la posición 1" in listed


def test_bars_hide_what_rounds_to_zero_and_fit_the_width():
    distribution = [("a", 0.7), ("b", 0.2999), ("c", 0.0001)]
    lines = render.bars(distribution, render.bar_width(40)).split("\n")
    assert len(lines) == 2 and all(len(line) <= 40 for line in lines)


def test_wrap_breaks_at_word_boundaries():
    assert render.wrap("la tierra estaba desordenada y vacía", 12) == \
        "la tierra\nestaba\ndesordenada\ny vacía"
