"""Shared fixtures: a tiny model trained for real on the start of the corpus (once per run), and
the fake Discord with `verbo discord` processes launched against it."""
from __future__ import annotations

import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# the person's own models folder is never read or written by the tests
os.environ["VERBO_MODELS"] = tempfile.mkdtemp(prefix="verbo-models-")

import pytest

from tests.helpers.models import train_tiny


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """One trained tiny folder per cell: {cell: Path}."""
    return {cell: train_tiny(tmp_path_factory, cell)[0].output
            for cell in ("gru", "lstm", "srnn", "trigrama")}


@pytest.fixture(scope="session")
def weights_root(tiny_models, tmp_path_factory):
    """A weights/ folder holding the tiny models under the shipped names."""
    root = tmp_path_factory.mktemp("weights")
    for cell, path in tiny_models.items():
        (root / cell).symlink_to(path, target_is_directory=True)
    return root


@pytest.fixture
async def engine(weights_root, tmp_path):
    from engine import Engine

    eng = Engine(tmp_path / "verbo.sqlite3", weights_root=weights_root)
    yield eng
    await eng.close()


def pytest_configure(config):
    config.addinivalue_line("markers", "shipped_models: `launch` serves the shipped models "
                            "(a turn's sentence end needs a model that writes sentences)")


@pytest.fixture
async def fake():
    """The project's fake Discord (tests/fake_discord), started for the test."""
    from tests.fake_discord import FakeDiscord

    server = await FakeDiscord().start()
    yield server
    await server.stop()


@pytest.fixture
async def launch(fake, request, tmp_path):
    """Start `verbo discord` processes on one database, serving the tiny models (the shipped
    ones under `pytest.mark.shipped_models`); `ready=False` does not wait for the gateway's
    READY. Each is killed at the end if alive."""
    from engine.weights import REPO_WEIGHTS
    from tests.helpers.discord_process import start_bot

    shipped = request.node.get_closest_marker("shipped_models") is not None
    weights = REPO_WEIGHTS if shipped else request.getfixturevalue("weights_root")
    started = []

    async def start(*arguments, ready=True, **environment):
        bot = await start_bot(fake, weights, tmp_path / "verbo.sqlite3", *arguments,
                              **environment)
        started.append(bot)
        if ready:
            await fake.wait_for(lambda: bot.process.returncode is not None or any(
                s.socket is not None for s in fake.gateway.sessions.values()), 60, "READY")
            assert bot.process.returncode is None, bot.stderr
        return bot

    yield start
    for bot in started:
        await bot.kill()


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server for the run; skipped where none can start, unless
    VERBO_REQUIRE_POSTGRES=1 (as in .ci/run) makes that a failure."""
    from tests.helpers.postgres import PostgresServer, PostgresUnavailable

    try:
        server = PostgresServer()
    except PostgresUnavailable as error:
        if os.environ.get("VERBO_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL es obligatorio aquí y no arranca: {error}")
        pytest.skip(f"sin PostgreSQL: {error}")
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def shared_db(request, tmp_path):
    """Where several processes keep their channels: a SQLite file, or a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "shared.sqlite3")
    return request.getfixturevalue("postgres_server").new_database()


def skipped_groups(reports) -> list[str]:
    """"REASON (N tests: FILES)" for each reason tests skipped for, most tests first."""
    groups: dict[str, list[str]] = {}
    for report in reports:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(
            report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        groups.setdefault(reason, []).append(report.nodeid.split("::")[0].rsplit("/", 1)[-1])
    return [f"{reason} ({len(files)} test{'s' * (len(files) > 1)}: "
            f"{', '.join(sorted(set(files)))})"
            for reason, files in sorted(groups.items(), key=lambda g: -len(g[1]))]


def pytest_terminal_summary(terminalreporter):
    """One line at the end naming every group of tests that skipped and why, so that a skip
    (no PostgreSQL, no TensorFlow, no JAX) is never silent."""
    groups = skipped_groups(terminalreporter.stats.get("skipped", []))
    if groups:
        terminalreporter.write_line("skipped: " + "; ".join(groups), yellow=True)
