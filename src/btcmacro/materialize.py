"""The materialised metric table: a briefing reads its metrics instead of recomputing them.

A briefing evaluates about a hundred registry metrics, each from raw observations cut to what was
published by the as-of date. For one store, one as-of date, one rules file and one version of the
metric definitions the result never changes, so the first briefing saves it and every later one
reads it back:

* **what is kept**: the evaluator's state once the metrics are evaluated -- every input series as
  published by the as-of date (values and publication dates), every metric variant's series
  computed from them -- and each metric's figure for the date (value, status, staleness,
  alternatives), pickled as soon as it is computed. Regimes, levels, scenarios and the text are
  still built on each call from these, so a change in the report or the rules code needs no
  invalidation.
* **the key**: a fingerprint of the store's *content* (every observation with its value,
  publication date, fetch time and vintage; the series metadata; the metadata rows, which hold
  the snapshot version and each source's last update), the digest of the effective rules (the
  defaults merged with the user's file), every metric's ``(id, version)``, a digest of the code
  that computes them, the package, Python, pandas and numpy versions and the as-of date. ``btcmacro update``, ``btcmacro
  chain sync`` (which publishes into the store), a rebuilt store and an edited rules file all
  change the key; so does any other write to the store.
  Nothing can be read back for the wrong data.
* **point in time**: one entry per as-of date, holding only what was published by that date (the
  evaluator's own as-of cut); an as-of briefing never reads another date's entry.
* **where**: a directory beside the store, ``<store file>.metrics/``, one file per as-of date and
  key, written atomically (temporary file in the same directory, then ``os.replace``). Entries of
  an older key are removed when a new one is written, and at most :data:`MAX_ENTRIES` are kept.
  btcmacro writes nowhere else; when the directory cannot be created or written (a read-only
  location) the briefing is computed as before, just without caching.

The entries are Python pickles: they are read only from btcmacro's own directory beside the store,
whose owner can already change the store itself.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

#: False inside :func:`disabled` (``briefing(..., materialized=False)``): nothing read, nothing saved
_ENABLED: contextvars.ContextVar[bool] = contextvars.ContextVar("btcmacro_materialize", default=True)

#: bump when the layout of an entry changes
FORMAT = 1
#: entries kept per store (one per as-of date evaluated under the current key: a briefing's date
#: and the earlier dates of its "what changed"; up to about 20 MB each with the embedded snapshot)
MAX_ENTRIES = 16
SUFFIX = ".metrics"


@contextlib.contextmanager
def disabled():
    """Within this block no :class:`Table` reads or writes anything (every metric is computed)."""
    token = _ENABLED.set(False)
    try:
        yield
    finally:
        _ENABLED.reset(token)


def cache_dir(store_path: str | os.PathLike) -> Path:
    """The cache directory that belongs to the store at ``store_path``."""
    p = Path(store_path)
    return p.with_name(p.name + SUFFIX)


def store_fingerprint(store) -> str:
    """A digest of everything in the store a metric can depend on (about 10 ms per 300,000
    observations): any insert, revision, deletion or metadata change gives a new value."""
    con = store.con
    parts = [
        con.execute("SELECT count(*), bit_xor(hash(series_id, date, value, published_at, fetched_at, "
                    "vintage)) FROM obs").fetchone(),
        con.execute("SELECT count(*), bit_xor(hash(s::VARCHAR)) FROM series s").fetchone(),
        con.execute("SELECT count(*), bit_xor(hash(key, value)) FROM meta").fetchone(),
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def rules_digest(cfg) -> str:
    """Digest of the effective rules (defaults merged with the user's file)."""
    doc = {"params": cfg.params, "regimes": cfg.regimes, "levels": cfg.levels, "scenarios": cfg.scenarios}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def metric_versions() -> list[tuple[str, int]]:
    from .registry import REGISTRY

    return sorted((m.id, int(m.version or 0)) for m in REGISTRY.values())


def code_digest() -> str:
    """Digest of the code a metric value depends on: the registry, store, catalogue and release
    modules and every module that defines a metric function (so an edited definition never reads
    numbers computed by the old one, even without a version bump)."""
    import sys

    from .registry import REGISTRY

    mods = {"btcmacro.registry", "btcmacro.store", "btcmacro.catalog", "btcmacro.releases"}
    mods |= {getattr(v.fn, "__module__", None) or "" for m in REGISTRY.values() for v in m.variants}
    h = hashlib.sha256()
    for name in sorted(mods):
        mod = sys.modules.get(name)
        f = getattr(mod, "__file__", None) if mod is not None else _origin(name)
        h.update(_file_digest(f) if f else name.encode())
    # the functions themselves, as loaded: a function replaced at run time (a notebook, a test)
    # or a factory's parameters (closure values) give a different key
    for m in sorted(REGISTRY.values(), key=lambda m: m.id):
        for v in m.variants:
            h.update(_fn_fingerprint(v.fn).encode())
    return h.hexdigest()


_FILE_DIGESTS: dict[tuple, bytes] = {}


def _file_digest(path: str) -> bytes:
    """SHA-256 of a source file, remembered per (path, size, modification time)."""
    try:
        st = os.stat(path)
    except OSError:
        return path.encode()
    k = (path, st.st_size, st.st_mtime_ns)
    if k not in _FILE_DIGESTS:
        try:
            _FILE_DIGESTS[k] = hashlib.sha256(Path(path).read_bytes()).digest()
        except OSError:
            return path.encode()
    return _FILE_DIGESTS[k]


def _origin(name: str) -> str | None:
    import importlib.util

    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    return spec.origin if spec is not None else None


def _fn_fingerprint(fn) -> str:
    code = getattr(fn, "__code__", None)
    cells = []
    for c in getattr(fn, "__closure__", None) or ():
        try:
            x = c.cell_contents
        except ValueError:
            x = None
        cells.append(repr(x) if isinstance(x, (int, float, str, bytes, bool, tuple, type(None)))
                     else _fn_fingerprint(x) if callable(x) else type(x).__name__)
    body = hashlib.sha256(code.co_code).hexdigest() if code is not None else repr(fn)
    return f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', '')}:{body}:{cells}"


def key(store, cfg) -> str:
    """The key of the store's current content under these rules and metric definitions."""
    import sys

    import numpy
    import pandas

    from . import __version__

    # the libraries whose objects an entry holds: an upgrade never unpickles old objects
    libs = f"{sys.version_info[:3]} pandas {pandas.__version__} numpy {numpy.__version__}"
    h = hashlib.sha256()
    for part in (str(FORMAT), __version__, libs, store_fingerprint(store), rules_digest(cfg),
                 repr(metric_versions()), code_digest()):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:32]


class Table:
    """The materialised metrics of one store for one key; see the module docstring."""

    def __init__(self, store, cfg):
        self.dir = cache_dir(store.path) if getattr(store, "path", None) and _ENABLED.get() else None
        self.key = key(store, cfg) if self.dir is not None else None
        self.hit = False
        self._loaded = (0, 0, 0)  # (inputs, variants, values) read back: a save writes only what grew
        self._values: dict[str, bytes] = {}  # metric id -> its pickled MetricValue

    def _file(self, as_of) -> Path:
        return self.dir / f"{as_of.date().isoformat()}-{self.key}.pkl"

    # reading ------------------------------------------------------------------------------
    def load_into(self, ev) -> bool:
        """Fill the evaluator ``ev`` from the entry for its as-of date; False when there is none
        (or it is unreadable, which is treated as absent)."""
        if self.dir is None or ev.as_of is None:
            return False
        try:
            with open(self._file(ev.as_of), "rb") as f:
                doc = pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError):
            return False
        if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("key") != self.key \
                or doc.get("as_of") != ev.as_of.date().isoformat():
            return False
        variants = _variants_by_name()
        ev._inputs.update(doc["inputs"])
        ev._pub.update(doc["pub"])
        for name, s in doc["variants"].items():
            v = variants.get(name)
            if v is not None:
                ev._vcache[id(v)] = s
        self._values = dict(doc.get("values") or {})
        self.hit = True
        self._loaded = (len(ev._inputs), len(ev._vcache), len(self._values))
        return True

    def values(self) -> dict[str, Any]:
        """The metric figures (``MetricValue``) read back for this date: fresh objects each call."""
        return {k: pickle.loads(b) for k, b in self._values.items()}

    def remember_values(self, values) -> None:
        """Keep the figures as they are now (pickled at once, so that nothing done to them later
        reaches the entry); written by the next :meth:`save`."""
        for k, v in dict(values).items():
            if k not in self._values:
                self._values[k] = pickle.dumps(v, protocol=pickle.HIGHEST_PROTOCOL)

    # writing ------------------------------------------------------------------------------
    def save(self, ev) -> Path | None:
        """Write the evaluator's state as the entry for its as-of date (atomically); None when
        nothing was computed beyond what was read back, or when the cache directory cannot be
        written (the briefing goes on without caching). An entry saved by a partial evaluation
        (the earlier dates of "what changed" evaluate only the metrics they read) is completed
        by the next full one."""
        if self.dir is None or ev.as_of is None:
            return None
        if self.hit and (len(ev._inputs), len(ev._vcache), len(self._values)) <= self._loaded:
            return None
        names = {id(v): n for n, v in _variants_by_name().items()}
        doc: dict[str, Any] = {
            "format": FORMAT, "key": self.key, "as_of": ev.as_of.date().isoformat(),
            "inputs": dict(ev._inputs), "pub": dict(ev._pub),
            "variants": {names[k]: s for k, s in ev._vcache.items() if k in names},
            "values": dict(self._values),
        }
        target = self._file(ev.as_of)
        try:
            self.dir.mkdir(exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".pkl", dir=self.dir)
        except OSError:
            return None
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(doc, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, target)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            return None
        self._prune(keep=target)
        return target

    def _prune(self, keep: Path) -> None:
        """Remove entries of other keys (stale data, rules or definitions) and the oldest beyond
        :data:`MAX_ENTRIES`."""
        try:
            entries = [p for p in self.dir.iterdir() if p.suffix == ".pkl" and not p.name.startswith(".")]
        except OSError:
            return
        current = []
        for p in entries:
            if p == keep:
                continue
            if not p.stem.endswith(f"-{self.key}"):
                _unlink(p)
            else:
                current.append(p)
        try:
            current.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        except OSError:
            return
        for p in current[MAX_ENTRIES - 1:]:
            _unlink(p)


def _unlink(p: Path) -> None:
    try:
        p.unlink()
    except OSError:
        pass


def _variants_by_name() -> dict[str, Any]:
    """Every registry variant under a stable name, ``<metric id>#<position>``."""
    from .registry import REGISTRY

    return {f"{m.id}#{i}": v for m in REGISTRY.values() for i, v in enumerate(m.variants)}
