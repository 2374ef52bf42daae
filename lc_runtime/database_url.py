"""The database lc-runtime's standalone settings use: SQLite by default, MySQL/MariaDB from one URL.

``LC_RUNTIME_DATABASE_URL=mysql://USER[:PASSWORD]@HOST[:PORT]/NAME[?unix_socket=PATH]`` selects MySQL
with the connection options edx-platform uses (utf8mb4, strict mode, READ COMMITTED); without it the
SQLite file of ``LC_RUNTIME_DB`` is used. Inside edx-platform the platform's own settings apply instead.
"""
from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

URL_ENV = "LC_RUNTIME_DATABASE_URL"

# What edx-platform's settings pass to Django's MySQL backend (ADR 0018).
MYSQL_OPTIONS = {
    "charset": "utf8mb4",
    "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
    "isolation_level": "read committed",
}


class DatabaseUrlError(ValueError):
    """LC_RUNTIME_DATABASE_URL is not a mysql:// URL we can use."""


def mysql_database(url: str) -> dict:
    """Django ``DATABASES['default']`` for a ``mysql://`` URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("mysql", "mariadb"):
        raise DatabaseUrlError(f"{URL_ENV} must start with mysql:// (got {parts.scheme or 'no scheme'}://)")
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise DatabaseUrlError(f"{URL_ENV} names no database: {url.split('@')[-1]}")
    query = parse_qs(parts.query)
    socket = query.get("unix_socket", [""])[0]
    use_mysql_driver()
    return {
        "ENGINE": "django.db.backends.mysql",
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        # Django's MySQL backend connects through the unix socket when HOST is a path.
        "HOST": socket or parts.hostname or "127.0.0.1",
        "PORT": str(parts.port or ""),
        "OPTIONS": dict(MYSQL_OPTIONS),
        "TEST": {"NAME": f"test_{name}", "CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"},
    }


def use_mysql_driver() -> None:
    """mysqlclient when installed (edx-platform's driver); otherwise PyMySQL standing in for it (ADR 0018)."""
    try:
        import MySQLdb  # noqa: F401
    except ImportError:
        import pymysql

        pymysql.install_as_MySQLdb()


def with_database(url: str, name: str) -> str:
    """The same server URL naming another database."""
    parts = urlsplit(url)
    return parts._replace(path=f"/{name}").geturl()


def database_name(url: str) -> str:
    return unquote(urlsplit(url).path.lstrip("/"))


def recreate_mysql_database(url: str) -> None:
    """Drop and create the URL's database, empty, in utf8mb4 (test and benchmark databases)."""
    settings = mysql_database(url)
    import MySQLdb

    where = {"unix_socket": settings["HOST"]} if settings["HOST"].startswith("/") else {
        "host": settings["HOST"], "port": int(settings["PORT"] or 3306)}
    connection = MySQLdb.connect(user=settings["USER"], passwd=settings["PASSWORD"], **where)
    try:
        cursor = connection.cursor()
        name = settings["NAME"].replace("`", "``")
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    finally:
        connection.close()
