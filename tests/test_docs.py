"""The README and the pages under docs/ stay true to the tree: every relative link resolves (the
file, and the heading when it names one, by GitHub's slug rules), every `verbo …` command they
quote exists in the real command line (subcommands, their options, `verbo bench` names), and
every `python -m bench.…` module and repository path they quote is there."""
import argparse
import re
import shlex
from pathlib import Path

import pytest

from verbo.arguments import build_parser

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCED = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
INLINE = re.compile(r"(`+)(.+?)\1", re.S)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
# `verbo` where a shell command starts: a line's start (after a `$ ` prompt, settings such as
# VERBO_DB=… and .venv/bin/), or after a pipe, `;` or `&&`
COMMAND = re.compile(r"(?:^(?:\$[ \t]+)?|[|;&][ \t]*)(?:[A-Z_][A-Z0-9_]*=\S*[ \t]+)*"
                     r"(?:\.venv/bin/)?verbo(?!\S)", re.M)
BENCH_MODULE = re.compile(r"python -m bench\.(\w+)")
REPO_PATH = re.compile(r"(?<![\w./-])(?:bench|bot|deploy|docs|engine|examples|tests|training|verbo)"
                       r"/[\w./@-]*")
COMMAND_ENDS = {"--", "|", "||", ";", "&", "&&"}


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


def prose(text: str) -> str:
    """The text without code: a link inside code is not a link."""
    return INLINE.sub("", FENCED.sub("", text))


def code(text: str) -> list[str]:
    """Every fenced block (lines continued with a backslash joined) and inline code span."""
    blocks = [block.replace("\\\n", " ") for block in FENCED.findall(text)]
    spans = [span.replace("\n", " ") for _, span in INLINE.findall(FENCED.sub("", text))]
    return blocks + spans


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: the text of links kept, lower case, punctuation dropped
    (letters, digits, `_`, `-` and spaces stay), spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """The anchors GitHub gives a page's headings; a repeated slug gets -1, -2 …"""
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(FENCED.sub("", page.read_text())):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def relative_links(page: Path) -> list[str]:
    return [target for target in LINK.findall(prose(page.read_text()))
            if not re.match(r"[a-z][a-z+.-]*:", target)]


def quoted_commands(page: Path) -> list[list[str]]:
    """The words after each `verbo` the page quotes as a command, up to the end of its line."""
    commands = []
    for snippet in code(page.read_text()):
        for line in snippet.splitlines():
            for match in COMMAND.finditer(line.strip()):
                rest = line.strip()[match.end():]
                lexer = shlex.shlex(rest, posix=True, punctuation_chars="|;&")
                lexer.whitespace_split = True
                try:
                    commands.append(list(lexer))
                except ValueError:  # an unclosed quote in an example: words as they are
                    commands.append(rest.split())
    return commands


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    # argparse has no public accessor for a parser's subcommands
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


def takes_value(parser: argparse.ArgumentParser, option: str) -> bool:
    return parser._option_string_actions[option].nargs != 0


def unknown_words(parser: argparse.ArgumentParser, words: list[str]) -> list[str]:
    """What in `verbo WORDS` the command line does not know: an option, a subcommand, one of a
    subcommand's options, or a `verbo bench` name. Words after `--` go to the benchmark."""
    commands = subparsers(parser)
    unknown, current, index = [], parser, 0
    while index < len(words) and words[index] not in COMMAND_ENDS:
        word = words[index]
        option = word.split("=", 1)[0]
        if word.startswith("-"):
            if option not in current._option_string_actions:
                unknown.append(word)
            elif "=" not in word and takes_value(current, option):
                index += 1
        elif current is parser:
            if word not in commands:
                return [*unknown, word]
            current = commands[word]
        elif current is commands["bench"]:
            which = next(a for a in current._actions if a.dest == "which")
            if word not in which.choices:
                unknown.append(f"bench {word}")
            break  # what follows a benchmark's name is the benchmark's
        index += 1
    return unknown


@pytest.fixture(scope="module")
def parser() -> argparse.ArgumentParser:
    return build_parser()


def test_the_slug_rules_are_githubs():
    assert slug("On a GPU: the device kernel") == "on-a-gpu-the-device-kernel"
    assert slug("The mixture `mezcla`") == "the-mixture-mezcla"
    assert slug("Qué tan probable, ¿verdad?") == "qué-tan-probable-verdad"
    assert slug("A [linked](x.md) heading_with_underscores") == "a-linked-heading_with_underscores"


def test_the_commands_are_read_from_the_pages(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("Run `verbo ask --json '!x | y'`, `verbo.open_engine()` and\n\n```\n"
                    "$ VERBO_DB=x verbo bench load -- --channels 5\n.venv/bin/verbo \\\n"
                    "  models  # a comment\n```\n")
    assert quoted_commands(page) == [["bench", "load", "--", "--channels", "5"], ["models"],
                                     ["ask", "--json", "!x | y"]]


def test_made_up_words_are_caught(parser):
    assert unknown_words(parser, ["ask", "--json", "!x"]) == []
    assert unknown_words(parser, ["--db", "x.sqlite3", "ask", "!x"]) == []
    assert unknown_words(parser, ["bench", "load", "--", "--channels", "5"]) == []
    assert unknown_words(parser, ["charla"]) == ["charla"]
    assert unknown_words(parser, ["train", "--bogus", "3"]) == ["--bogus"]
    assert unknown_words(parser, ["bench", "nothing"]) == ["bench nothing"]


def test_there_are_pages_to_check():
    assert {"README.md", "docs/console.md", "docs/discord.md", "docs/models.md"} <= {
        page_id(page) for page in PAGES}


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_relative_link_resolves(page):
    broken = []
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and (linked.suffix != ".md" or anchor not in anchors(linked)):
            broken.append(f"{target}: no heading #{anchor} in {linked.name}")
    assert not broken


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_quoted_verbo_command_exists(page, parser):
    unknown = {" ".join(words): unknown_words(parser, words) for words in quoted_commands(page)}
    assert not {command: words for command, words in unknown.items() if words}


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_quoted_benchmark_module_and_path_exists(page):
    text = "\n".join(code(page.read_text()))
    missing = [f"bench/{name}.py" for name in BENCH_MODULE.findall(text)
               if not (ROOT / "bench" / f"{name}.py").is_file()]
    missing += [path for path in REPO_PATH.findall(text) if not (ROOT / path).exists()]
    assert not missing
