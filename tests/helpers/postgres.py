"""A throwaway PostgreSQL server for the tests: initdb and pg_ctl into a temporary folder, on a
free port of 127.0.0.1, run as the `postgres` system user when the tests run as root (the server
refuses root), stopped and removed at the end."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


class PostgresUnavailable(Exception):
    pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


class PostgresServer:
    def __init__(self):
        if not (shutil.which("initdb") and shutil.which("pg_ctl")):
            raise PostgresUnavailable("initdb y pg_ctl no están en el PATH")
        self.folder = Path(tempfile.mkdtemp(prefix="verbo-pg-", dir="/tmp"))
        self.folder.chmod(0o755)
        self.data = self.folder / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(["initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E",
                   "UTF8", "--no-sync"])
        self._run(["pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-w", "-o",
                   f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1", "start"])
        self._databases = 0

    def _run(self, command: list[str]) -> None:
        result = subprocess.run(as_server_user(command), capture_output=True, text=True,
                                timeout=120)
        if result.returncode != 0:
            raise PostgresUnavailable(f"{command[0]}: {result.stderr.strip()[-500:]}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """The URL of a fresh, empty database."""
        import psycopg

        self._databases += 1
        name = f"verbo_{self._databases}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        subprocess.run(as_server_user(["pg_ctl", "-D", str(self.data), "-m", "immediate",
                                       "stop"]), capture_output=True, timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)
