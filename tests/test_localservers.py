"""The private servers the MySQL test pass, benchmarks and the CLI start (lc_runtime.localservers)."""
from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from lc_runtime.localservers.api import LocalServerError, start_mariadb


@pytest.fixture(scope="module")
def server():
    with start_mariadb() as running:
        yield running


def test_a_started_server_answers_on_its_port_and_socket_and_its_url_names_the_database(server):
    url = server.create_database("probe")
    assert url == f"mysql://lc@127.0.0.1:{server.port}/probe?unix_socket={server.socket}"
    with socket.create_connection(("127.0.0.1", server.port), timeout=5):
        pass
    server.execute("CREATE TABLE probe.t (v VARCHAR(10)); INSERT INTO probe.t VALUES ('🎓')")
    assert Path(server.socket).is_socket()


def test_a_busy_port_is_one_line_naming_the_binary_the_port_and_the_log(server):
    with pytest.raises(LocalServerError) as raised:
        start_mariadb(port=server.port)
    message = str(raised.value)
    assert "\n" not in message
    assert "mariadbd on port %d" % server.port in message and "Address already in use" in message
    log = message.rsplit("log: ", 1)[1].rstrip(")")
    assert Path(log).is_file()  # kept for its reader; the data directory is gone
    assert not Path(log[:-len(".log")]).exists()
    Path(log).unlink()


def test_stop_kills_the_server_and_removes_its_data():
    running = start_mariadb()
    process, home = running.process, running.home
    running.stop()
    assert process.poll() is not None and not home.exists() and not running.log.exists()
    running.stop()  # twice is fine


def test_the_command_line_runs_a_command_against_a_fresh_database(tmp_path):
    import sys

    done = subprocess.run([sys.executable, "-m", "lc_runtime.localservers", "mariadb", "--database", "cli_db", "--",
                           sys.executable, "-c", "import os; print(os.environ['LC_RUNTIME_DATABASE_URL'])"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("mysql://lc@127.0.0.1:") and "/cli_db?unix_socket=" in done.stdout


def test_a_copied_database_holds_the_source_rows_and_a_missing_source_is_one_line(server):
    server.create_database("copy_source")
    server.execute("CREATE TABLE copy_source.t (v VARCHAR(10)); INSERT INTO copy_source.t VALUES ('🎓'), ('b')")
    url = server.copy_database("copy_source", "copy_target")
    server.execute("INSERT INTO copy_source.t VALUES ('after')")  # the copy is its own database
    assert url == server.url("copy_target")
    done = subprocess.run(["mariadb", "--no-defaults", f"--socket={server.socket}", f"--user={server.user}",
                           "--default-character-set=utf8mb4", "--batch", "-N", "-e",
                           "SELECT v FROM copy_target.t ORDER BY v"], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["b", "🎓"]
    with pytest.raises(LocalServerError) as raised:
        server.copy_database("no_such_database", "copy_target2")
    assert "\n" not in str(raised.value) and "copying no_such_database to copy_target2 failed" in str(raised.value)
