"""The one HTTP layer every source uses: per-source policy as data, one limiter per host, retries.

A source declares a :class:`Policy` (requests per minute, minimum spacing, retries, backoff, which
failures retry). :class:`Http` applies it:

* one process-wide :class:`Limiter` per host, so two sources on one host share its budget;
* ``Retry-After`` (seconds or an HTTP date) is honoured on 429/503; other 4xx never retry;
* exponential backoff ``min(cap, base * 2**attempt)`` for 5xx, timeouts and connection errors;
* a wall-clock :class:`Deadline` bounds the whole update;
* one probe per host (``probe_once``, used by ``update``): a host that cannot be connected to on
  first contact (name not resolved, connection refused or timed out) is marked unreachable
  without retries, and every later request to it fails at once with :class:`HostUnreachable` -- an offline update ends in seconds;
* every secret (API keys) is redacted from anything logged or raised, and error locations carry
  the URL path only, never the query string.

Time comes from an injectable clock (``monotonic()`` + ``sleep()``), so tests use :class:`FakeClock`
and never sleep.
"""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Protocol
from urllib.parse import urlsplit

from .errors import AuthError, NotFound, RateLimited, SourceError, Unavailable

log = logging.getLogger("btcmacro.http")

RETRY_DEFAULT = frozenset({429, 500, 502, 503, 504, "timeout", "connect"})
USER_AGENT = "btcmacro/0.1 (+https://github.com/btcmacro)"


# -- policy ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Policy:
    """How hard a source may be asked: the data behind every retry and wait.

    ``per_minute`` is a sliding 60 s window; ``spacing_s`` the minimum gap between two requests to
    the same host. Backoff before retry ``n`` (0-based) is ``min(backoff_cap, backoff_base*2**n)``.
    """

    per_minute: float = 60
    spacing_s: float = 0.0
    max_retries: int = 3
    backoff_base: float = 1.0
    backoff_cap: float = 30.0
    retry_on: frozenset = RETRY_DEFAULT
    timeout_s: float = 30.0

    @property
    def interval_s(self) -> float:
        """Sustained seconds per request this policy allows."""
        return max(self.spacing_s, 60.0 / self.per_minute if self.per_minute else 0.0)

    def backoff(self, attempt: int) -> float:
        return min(self.backoff_cap, self.backoff_base * (2 ** attempt))


# -- clocks ---------------------------------------------------------------------------------------
class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FakeClock:
    """A clock whose ``sleep`` advances time instantly; records every sleep (for tests, benchmarks)."""

    def __init__(self, start: float = 1000.0):
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            if seconds > 0:
                self.sleeps.append(seconds)
                self.now += seconds


class Deadline:
    """A wall-clock bound for a whole update (``None`` = unbounded)."""

    def __init__(self, clock: Clock, seconds: float | None):
        self.clock = clock
        self.end = None if seconds is None else clock.monotonic() + seconds

    def remaining(self) -> float:
        return float("inf") if self.end is None else self.end - self.clock.monotonic()

    def check(self, where: str, wait: float = 0.0) -> None:
        """Raise :class:`Unavailable` if the deadline has passed or would pass during ``wait``."""
        if self.end is not None and self.remaining() - wait < 0:
            raise Unavailable("update deadline reached; stopping before the next request",
                              where=where)


# -- limiter --------------------------------------------------------------------------------------
class Limiter:
    """Sliding-window limiter for one host: at most ``per_minute`` in any 60 s, ``spacing_s`` apart."""

    def __init__(self, per_minute: float, spacing_s: float):
        self.per_minute = per_minute
        self.spacing_s = spacing_s
        self.stamps: deque[float] = deque()
        self._lock = threading.Lock()

    def wait_time(self, now: float) -> float:
        while self.stamps and now - self.stamps[0] >= 60.0:
            self.stamps.popleft()
        wait = 0.0
        if self.stamps:
            wait = max(wait, self.stamps[-1] + self.spacing_s - now)
        if self.per_minute and len(self.stamps) >= self.per_minute:
            idx = len(self.stamps) - int(self.per_minute)
            wait = max(wait, self.stamps[idx] + 60.0 - now)
        return wait

    def acquire(self, clock: Clock, deadline: Deadline | None = None, where: str = "") -> None:
        with self._lock:
            while True:
                wait = self.wait_time(clock.monotonic())
                if wait <= 0:
                    break
                if deadline is not None:
                    deadline.check(where, wait)
                clock.sleep(wait)
            self.stamps.append(clock.monotonic())


_LIMITERS: dict[str, Limiter] = {}
_LIMITERS_LOCK = threading.Lock()


def limiter_for(host: str, policy: Policy) -> Limiter:
    """The process-wide limiter of ``host`` (created with the first policy that asks for it;
    a stricter later policy tightens it)."""
    with _LIMITERS_LOCK:
        lim = _LIMITERS.get(host)
        if lim is None:
            lim = _LIMITERS[host] = Limiter(policy.per_minute, policy.spacing_s)
        else:
            lim.per_minute = min(lim.per_minute, policy.per_minute) if lim.per_minute else policy.per_minute
            lim.spacing_s = max(lim.spacing_s, policy.spacing_s)
        return lim


def reset_limiters() -> None:
    """Forget every host's history (tests; a new process starts empty anyway)."""
    with _LIMITERS_LOCK:
        _LIMITERS.clear()


# -- redaction ------------------------------------------------------------------------------------
_SECRETS: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a credential so :func:`redact` removes it from any text we log or raise."""
    if value and len(value) >= 4:
        _SECRETS.add(value)


def redact(text: str, extra: Iterable[str] = ()) -> str:
    for s in sorted({*_SECRETS, *(e for e in extra if e)}, key=len, reverse=True):
        text = text.replace(s, "***")
    return text


def safe_where(url: str) -> str:
    """``host/path`` of a URL: never the query string (where keys live)."""
    parts = urlsplit(url)
    return redact(f"{parts.netloc}{parts.path}")


class RedactingFilter(logging.Filter):
    """Logging filter that scrubs registered secrets from every record of a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        clean = redact(msg)
        if clean != msg:
            record.msg, record.args = clean, ()
        return True


# -- responses ------------------------------------------------------------------------------------
@dataclass
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes
    where: str  # host/path, no query string
    attempts: int = 1
    request: object = None  # the source's Request (set by Source.fetch), for pagination
    page: int = 1


def parse_retry_after(value: str | None, now_wall: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now_wall = time.time() if now_wall is None else now_wall
    return max(0.0, when.timestamp() - now_wall)


#: maps a non-retryable error response to an exception (a source may override)
ErrorMapper = Callable[[int, bytes, str], SourceError | None]


@dataclass
class Stats:
    requests: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    waited_s: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.requests.values())


class HostUnreachable(Unavailable):
    """The host could not be connected to: this run sends it no further request."""

    retryable = False

    def __init__(self, message: str, *, where: str | None = None, host: str = ""):
        super().__init__(message, where=where)
        self.host = host


#: seconds to wait for a TCP connection (the whole request still has the policy's ``timeout_s``)
CONNECT_TIMEOUT_S = 10.0


def _connect_reason(exc: BaseException) -> str:
    """A reader's words for why a connection failed (from the OS error text, no addresses)."""
    text = str(exc).lower()
    for needle, words in (("name or service not known", "host name not found"),
                          ("nodename nor servname", "host name not found"),
                          ("temporary failure in name resolution", "host name could not be resolved"),
                          ("no address associated", "host name not found"),
                          ("getaddrinfo", "host name could not be resolved"),
                          ("refused", "connection refused"),
                          ("network is unreachable", "network unreachable"),
                          ("no route to host", "no route to host"),
                          ("timed out", "connection timed out"),
                          ("ssl", "TLS handshake failed"),
                          ("certificate", "TLS certificate rejected")):
        if needle in text:
            return words
    return f"connection failed ({type(exc).__name__})"


class Http:
    """Shared client. ``transport`` lets tests inject an ``httpx`` transport if they want one.

    With ``probe_once`` (``btcmacro update``) it keeps, per host, whether the host has answered in
    this run (``reached``) or could not be connected to (``down``: host -> reason); see
    :class:`HostUnreachable`. Without it (the RPC client: a local node that is starting up is
    worth waiting for) connection failures are retried like any other retryable failure.
    """

    def __init__(self, *, clock: Clock | None = None, deadline_s: float | None = None,
                 transport: httpx.BaseTransport | None = None, probe_once: bool = False):
        import httpx  # loaded here, not at import: sources declare their policies without it

        self.probe_once = probe_once
        self.clock = clock or SystemClock()
        self.deadline = Deadline(self.clock, deadline_s)
        self.stats = Stats()
        self.reached: set[str] = set()
        self.down: dict[str, str] = {}
        self._client = httpx.Client(transport=transport, follow_redirects=True,
                                    headers={"User-Agent": USER_AGENT})

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "Http":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # the retry loop, shared with non-HTTP clients (ccxt) --------------------------------------
    def call(self, fn: Callable[[], Response], *, host: str, policy: Policy, where: str,
             classify: Callable[[BaseException], SourceError] | None = None) -> Response:
        """Run ``fn`` under ``policy``: limiter, deadline, retries with backoff / Retry-After."""
        lim = limiter_for(host, policy)
        attempt = 0
        while True:
            if host in self.down:
                raise HostUnreachable(f"not contacted: {self.down[host]} earlier in this run",
                                      where=where, host=host)
            self.deadline.check(where)
            lim.acquire(self.clock, self.deadline, where)
            self.stats.requests[host] += 1
            try:
                resp = fn()
            except SourceError as err:
                failure = err
            except BaseException as exc:  # mapped by the caller's classifier
                if classify is None:
                    raise
                failure = classify(exc)
                cause = exc.__cause__ or exc.__context__ or exc
                if type(cause).__name__ == "ConnectTimeout":  # e.g. ccxt's RequestTimeout from requests
                    failure.kind, failure.reason = "connect", "connection timed out"
                if getattr(failure, "kind", None) == "connect" and not getattr(failure, "reason", None):
                    failure.reason = _connect_reason(cause)
            else:
                resp.attempts = attempt + 1
                self.reached.add(host)
                return resp
            kind = _retry_kind(failure)
            if kind == "connect" and self.probe_once:
                # one probe per host: never answered -> no retries; answered before and now
                # unreachable through every retry -> no further request either
                if host not in self.reached or attempt >= policy.max_retries:
                    reason = getattr(failure, "reason", None) or "connection failed"
                    self.down[host] = reason
                    log.info("host unreachable: %s (%s)", redact(host), reason)
                    raise HostUnreachable(f"cannot reach the provider: {reason}", where=where,
                                          host=host) from None
            elif getattr(failure, "status", None) is not None or isinstance(failure, RateLimited):
                self.reached.add(host)  # it answered, with an error status
            if kind is None or kind not in policy.retry_on or attempt >= policy.max_retries:
                raise failure
            wait = policy.backoff(attempt)
            if isinstance(failure, RateLimited) and failure.retry_after is not None:
                wait = max(wait, failure.retry_after)
            self.deadline.check(where, wait)
            log.info("retrying %s in %.1fs after %s (attempt %d of %d)", where, wait,
                     redact(failure.message), attempt + 1, policy.max_retries)
            self.stats.waited_s += wait
            self.clock.sleep(wait)
            attempt += 1

    def get(self, url: str, params: Mapping[str, str] | None = None, *, policy: Policy,
            where: str | None = None, error_mapper: ErrorMapper | None = None,
            how_to_get_key: str = "", headers: Mapping[str, str] | None = None) -> Response:
        """GET ``url`` under ``policy``; return a 2xx :class:`Response` or raise a SourceError."""
        parts = urlsplit(url)
        host = parts.netloc
        where = where or safe_where(url)
        secrets = [v for v in (params or {}).values() if isinstance(v, str) and v in _SECRETS]

        import httpx

        def once() -> Response:
            log.debug("GET %s", safe_where(url))
            try:
                r = self._client.get(url, params=params, headers=headers,
                                     timeout=httpx.Timeout(policy.timeout_s,
                                                           connect=min(policy.timeout_s, CONNECT_TIMEOUT_S)))
            except httpx.ConnectTimeout:
                raise _Connect("connection timed out", where=where, reason="connection timed out") from None
            except httpx.TimeoutException:
                raise _Timeout(f"timed out after {policy.timeout_s:g}s", where=where) from None
            except (httpx.ConnectError, httpx.UnsupportedProtocol) as e:
                reason = _connect_reason(e)
                raise _Connect(reason, where=where, reason=reason) from None
            except httpx.TransportError as e:
                raise _Connect(f"connection failed ({type(e).__name__})", where=where) from None
            body = r.content
            st = r.status_code
            if 200 <= st < 300:
                return Response(st, dict(r.headers), body, where)
            if st == 429 or (st == 503 and "retry-after" in r.headers):
                ra = parse_retry_after(r.headers.get("retry-after"))
                err = RateLimited(f"HTTP {st} rate limited" + (f", Retry-After {ra:g}s" if ra is not None else ""),
                                  where=where, retry_after=ra)
                err.status = st
                raise err
            if st >= 500:
                err = Unavailable(f"HTTP {st} from the provider", where=where)
                err.status = st
                raise err
            mapped = error_mapper(st, body, where) if error_mapper else None
            if mapped is None:
                mapped = default_error(st, body, where, how_to_get_key)
            raise mapped

        try:
            return self.call(once, host=host, policy=policy, where=where)
        except SourceError as e:
            # belt and braces: no secret may leave in a message
            e.message = redact(e.message, secrets)
            e.args = (redact(str(e.args[0]) if e.args else "", secrets),)
            raise


class _Timeout(Unavailable):
    kind = "timeout"


class _Connect(Unavailable):
    kind = "connect"

    def __init__(self, message: str, *, where: str | None = None, reason: str | None = None):
        super().__init__(message, where=where)
        self.reason = reason


def _retry_kind(err: SourceError):
    """The ``retry_on`` token of a failure, or None if it is permanent."""
    if not err.retryable:
        return None
    kind = getattr(err, "kind", None)
    if kind:
        return kind
    status = getattr(err, "status", None)
    if status is not None:
        return status
    return 429 if isinstance(err, RateLimited) else 503


def default_error(status: int, body: bytes, where: str, how_to_get_key: str = "") -> SourceError:
    snippet = redact(body[:120].decode("utf-8", "replace").strip().replace("\n", " "))
    if status in (401, 403):
        hint = f"; {how_to_get_key}" if how_to_get_key else ""
        return AuthError(f"HTTP {status}: credentials missing or refused{hint}", where=where)
    if status in (404, 410):
        return NotFound(f"HTTP {status}: not found", where=where)
    return SourceError(f"HTTP {status} (not retried): {snippet}", where=where)
