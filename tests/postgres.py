"""A throwaway PostgreSQL cluster for the tests: Debian's server binaries, a temporary data
directory, a free loopback port, started on first use and stopped when the tests end.

initdb and postgres refuse to run as root, so as root they run as the ``postgres`` user
(../shared/reference/faces.md, section 7); fsync is off (nothing here must survive a crash).
"""
from __future__ import annotations

import atexit
import glob
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from tests.peers import free_port


def server_bin() -> Path:
    """Return the directory of PostgreSQL's server programs, or raise with what to install."""
    found = shutil.which("pg_config")
    candidates = []
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True)
        candidates.append(out.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for folder in candidates:
        if folder and os.access(os.path.join(folder, "initdb"), os.X_OK):
            return Path(folder)
    raise RuntimeError("PostgreSQL's server is not installed (the store tests run against it too): "
                       "`make system-deps`, or apt-get install postgresql")


class Cluster:
    """One running cluster; ``database()`` gives each caller a fresh empty database."""

    def __init__(self) -> None:
        self.bin = server_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="unioncat-pg-"))
        self.port = free_port()
        self.root = os.geteuid() == 0
        if self.root:
            shutil.chown(self.dir, "postgres", "postgres")
        os.chmod(self.dir, 0o700)
        self._count = 0
        self._lock = threading.Lock()
        self._run("initdb", "-D", str(self.dir / "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8")
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-l", str(self.dir / "log"), "-w", "-o",
                  f"-c listen_addresses=127.0.0.1 -c unix_socket_directories={self.dir} -p {self.port}"
                  " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
                  "start")
        atexit.register(self.stop)

    def _run(self, program: str, *args: str) -> None:
        argv = [str(self.bin / program), *args]
        if self.root:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        out = subprocess.run(argv, capture_output=True, text=True, cwd=self.dir)
        if out.returncode:
            log = (self.dir / "log").read_text(errors="replace")[-2000:] if (self.dir / "log").exists() else ""
            raise RuntimeError(f"{program} failed: {out.stderr[-2000:]}{log}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def database(self) -> str:
        """Create an empty database; return its URL."""
        import psycopg

        with self._lock:
            self._count += 1
            name = f"t{os.getpid()}_{self._count}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'")
        return self.url(name)

    def stop(self) -> None:
        if self.dir.exists():
            try:
                self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")
            finally:
                shutil.rmtree(self.dir, ignore_errors=True)


_CLUSTER: list[Cluster] = []


def cluster() -> Cluster:
    """Return the tests' cluster, starting it on first use."""
    if not _CLUSTER:
        _CLUSTER.append(Cluster())
    return _CLUSTER[0]
