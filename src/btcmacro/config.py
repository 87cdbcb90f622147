"""Settings and paths.

Precedence (dlt style): environment > ``secrets.toml`` (user config dir, mode 0600) > ``config.toml``
> defaults. ``BTCMACRO_HOME`` moves the data directory (store, exports); by default it is the XDG
user data directory (``~/.local/share/btcmacro``).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from .errors import ConfigError


def home() -> Path:
    """Directory holding the store and exports (``BTCMACRO_HOME`` or the XDG data dir)."""
    env = os.environ.get("BTCMACRO_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("btcmacro", appauthor=False))


def config_dir() -> Path:
    env = os.environ.get("BTCMACRO_CONFIG_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("btcmacro", appauthor=False))


def default_store_path() -> Path:
    return home() / "store.duckdb"


def load_toml(path: Path) -> dict:
    """Read a TOML file; a syntax error is one ConfigError naming the file and line."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError("file not found", where=_shown(path)) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not a TOML file", where=_shown(path)) from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"not a text file (byte {e.start} is not UTF-8); expected a TOML file",
                          where=_shown(path)) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"not valid TOML ({e})", where=_shown(path)) from None
    except OSError as e:
        raise ConfigError(f"cannot read this file ({e.strerror or e})", where=_shown(path)) from None


def _shown(path) -> str:
    from .inputs import printable

    return printable(path)


def user_config() -> dict:
    """``config.toml`` from the config dir, or ``{}``."""
    p = config_dir() / "config.toml"
    return load_toml(p) if p.exists() else {}


# -- secrets and base URLs (added for live sources) ------------------------------------------------
#: environment variables checked for each secret, first wins
SECRET_ENV: dict[str, tuple[str, ...]] = {
    "fred_api_key": ("BTCMACRO_FRED_API_KEY", "FRED_API_KEY"),
    "coinmetrics_api_key": ("BTCMACRO_COINMETRICS_API_KEY", "COINMETRICS_API_KEY"),
}


def _check_secrets_mode(path: Path) -> None:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigError(
            f"secrets file is readable by others (mode {mode:o}); run `chmod 600 {path}`",
            where=str(path),
        )


def secret(name: str) -> str | None:
    """A credential: environment > ``secrets.toml`` (mode 0600 enforced) > ``config.toml``.

    ``name`` is e.g. ``"fred_api_key"``. The value is registered for redaction, so it can never
    appear in a log line or an error message. Empty strings count as unset.
    """
    from .http import register_secret

    value = None
    for var in SECRET_ENV.get(name, (f"BTCMACRO_{name.upper()}",)):
        if os.environ.get(var):
            value = os.environ[var].strip()
            break
    if value is None:
        p = config_dir() / "secrets.toml"
        if p.exists():
            _check_secrets_mode(p)
            value = _lookup(load_toml(p), name)
    if value is None:
        value = _lookup(user_config(), name)
    value = value or None
    register_secret(value)
    return value


def secret_state(name: str) -> tuple[bool, str]:
    """Whether a credential is usable, and in words where it comes from or why it is not.

    ``(True, "environment")``, ``(True, "secrets.toml")``, ``(True, "config.toml")``,
    ``(False, "")`` when it is simply absent, or ``(False, reason)`` when a file holding it cannot
    be used: a ``secrets.toml`` readable by others, a file that is not valid TOML, a value that is
    not text. Never the value itself. Used by ``btcmacro sources``.
    """
    for var in SECRET_ENV.get(name, (f"BTCMACRO_{name.upper()}",)):
        if os.environ.get(var, "").strip():
            return True, "environment"
    for fname in ("secrets.toml", "config.toml"):
        p = config_dir() / fname
        if not p.exists():
            continue
        try:
            doc = load_toml(p)
        except ConfigError as e:
            return False, f"{p} is ignored: {e.message}"
        except OSError as e:
            return False, f"{p} cannot be read ({e.strerror or type(e).__name__})"
        if fname == "secrets.toml" and _lookup(doc, name):
            try:
                _check_secrets_mode(p)
            except ConfigError as e:
                return False, f"{p} is ignored: {e.message.replace('secrets file is', 'it is')}"
        if _lookup(doc, name):
            return True, fname
        bad = _lookup_any(doc, name)
        if bad is not None and not isinstance(bad, str):
            return False, (f"{p}: {name} must be a quoted string, found a "
                           f"{_toml_type(bad)}")
    return False, ""


def _toml_type(v) -> str:
    return {bool: "boolean", int: "number", float: "number", dict: "table", list: "list"}.get(
        type(v), type(v).__name__)


def _lookup_any(doc: dict, name: str):
    """Like :func:`_lookup` but returns whatever value sits at the key (any type), or None."""
    if name in doc:
        return doc[name]
    sec = doc.get("secrets", {})
    if isinstance(sec, dict) and name in sec:
        return sec[name]
    src, _, key = name.partition("_")
    tbl = doc.get(src, {})
    if key and isinstance(tbl, dict) and key in tbl:
        return tbl[key]
    return None


def _lookup(doc: dict, name: str) -> str | None:
    """``name`` at top level, or ``fred_api_key`` as ``[fred] api_key`` / ``[secrets] name``."""
    if isinstance(doc.get(name), str):
        return doc[name]
    sec = doc.get("secrets", {})
    if isinstance(sec, dict) and isinstance(sec.get(name), str):
        return sec[name]
    src, _, key = name.partition("_")
    tbl = doc.get(src, {})
    if key and isinstance(tbl, dict) and isinstance(tbl.get(key), str):
        return tbl[key]
    return None


def base_url(source: str, default: str) -> str:
    """Base URL of a source: ``BTCMACRO_URL_<SOURCE>`` > ``[urls] <source>`` in config.toml > default.

    ``source`` is the upper-case name used in the variable (``FRED``, ``FRED_CSV``, ``COINMETRICS``).
    Trailing slashes are removed.
    """
    env = os.environ.get(f"BTCMACRO_URL_{source.upper()}")
    if env:
        return env.rstrip("/")
    urls = user_config().get("urls", {})
    val = urls.get(source.lower()) if isinstance(urls, dict) else None
    return (val or default).rstrip("/")
