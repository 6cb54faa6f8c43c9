"""A throwaway PostgreSQL server for the tests: initdb and pg_ctl into a temporary folder, on a
free port of 127.0.0.1, run as the `postgres` system user when the tests run as root (the server
refuses root), stopped and removed at the end.

The binaries are looked for on PATH, then where Debian and Ubuntu install them
(/usr/lib/postgresql/<version>/bin, newest version first), which is not on PATH there."""
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


DEBIAN_ROOT = Path("/usr/lib/postgresql")


def version_key(folder: Path) -> tuple:
    return tuple(int(part) if part.isdigit() else -1 for part in folder.name.split("."))


def find_binaries(path: str | None = None, debian_root: Path = DEBIAN_ROOT) -> dict[str, str]:
    """{"initdb": path, "pg_ctl": path} from one place (PATH, else the newest Debian version);
    PostgresUnavailable says where it looked."""
    names = ("initdb", "pg_ctl")
    found = {name: shutil.which(name, path=path) for name in names}
    if all(found.values()):
        return found
    versions = sorted(debian_root.glob("*/bin"), key=lambda b: version_key(b.parent),
                      reverse=True) if debian_root.is_dir() else []
    for folder in versions:
        if all((folder / name).is_file() and os.access(folder / name, os.X_OK)
               for name in names):
            return {name: str(folder / name) for name in names}
    raise PostgresUnavailable(f"initdb y pg_ctl no están en el PATH ni en {debian_root}/*/bin")


class PostgresServer:
    def __init__(self):
        self.binaries = find_binaries()
        self.folder = Path(tempfile.mkdtemp(prefix="verbo-pg-", dir="/tmp"))
        self.folder.chmod(0o755)
        self.data = self.folder / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run([self.binaries["initdb"], "-D", str(self.data), "-U", "postgres",
                   "--auth=trust", "-E", "UTF8", "--no-sync"])
        self._run([self.binaries["pg_ctl"], "-D", str(self.data), "-l", str(self.folder / "log"),
                   "-w", "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1",
                   "start"])
        self._databases = 0

    def _run(self, command: list[str]) -> None:
        result = subprocess.run(as_server_user(command), capture_output=True, text=True,
                                timeout=120)
        if result.returncode != 0:
            raise PostgresUnavailable(f"{Path(command[0]).name}: {result.stderr.strip()[-500:]}")

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
        subprocess.run(as_server_user([self.binaries["pg_ctl"], "-D", str(self.data), "-m",
                                       "immediate", "stop"]), capture_output=True, timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)
