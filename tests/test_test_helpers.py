"""The test suite's own helpers: PostgreSQL is found where Debian installs it, and skips are
named at the end of a run."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.postgres import PostgresUnavailable, find_binaries

ROOT = Path(__file__).resolve().parent.parent


def fake_binaries(folder: Path) -> None:
    folder.mkdir(parents=True)
    for name in ("initdb", "pg_ctl"):
        (folder / name).write_text("#!/bin/sh\n")
        (folder / name).chmod(0o755)


def test_postgresql_is_found_under_usr_lib_postgresql_when_not_on_path(tmp_path):
    root = tmp_path / "postgresql"
    fake_binaries(root / "9.6" / "bin")
    fake_binaries(root / "15" / "bin")
    (root / "16" / "bin").mkdir(parents=True)  # a version without the server binaries
    found = find_binaries(path=str(tmp_path / "empty"), debian_root=root)
    assert found == {"initdb": str(root / "15" / "bin" / "initdb"),
                     "pg_ctl": str(root / "15" / "bin" / "pg_ctl")}  # 15 > 9.6 as versions


def test_postgresql_on_path_comes_first(tmp_path):
    fake_binaries(tmp_path / "path")
    fake_binaries(tmp_path / "postgresql" / "15" / "bin")
    found = find_binaries(path=str(tmp_path / "path"), debian_root=tmp_path / "postgresql")
    assert found["initdb"] == str(tmp_path / "path" / "initdb")


def test_no_postgresql_anywhere_says_where_it_looked(tmp_path):
    with pytest.raises(PostgresUnavailable, match="ni en .*/bin"):
        find_binaries(path=str(tmp_path), debian_root=tmp_path / "nothing")


def test_the_run_ends_with_one_line_naming_each_group_of_skipped_tests(tmp_path):
    (tmp_path / "test_sample.py").write_text(
        "import pytest\n"
        "def test_a(): pytest.skip('sin PostgreSQL: no arranca')\n"
        "def test_b(): pytest.skip('sin PostgreSQL: no arranca')\n"
        "def test_c(): pytest.skip('JAX is not installed')\n"
        "def test_d(): pass\n")
    (tmp_path / "conftest.py").write_text(
        "from tests.conftest import pytest_terminal_summary  # noqa: F401\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             str(tmp_path)], capture_output=True, text=True, cwd=tmp_path,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    lines = [line for line in result.stdout.splitlines() if line.startswith("skipped: ")]
    assert lines == ["skipped: sin PostgreSQL: no arranca (2 tests: test_sample.py); "
                     "JAX is not installed (1 test: test_sample.py)"], result.stdout
