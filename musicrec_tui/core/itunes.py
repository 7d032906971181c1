"""iTunes Search API client: search and lookup, parsed leniently into Track records.

One token bucket paces every call (search and lookup share it; preview downloads are not counted). Throttling
(403 with an empty body, 429), 5xx, timeouts, connection errors and garbage bodies (HTML error pages,
malformed or cut-off JSON) are retried with capped exponential backoff and jitter, honouring Retry-After.
After the last retry the client raises ItunesThrottled or ItunesUnavailable with a one-line message.

Backoff: transient faults (5xx, timeouts, garbage) use full jitter. Throttling uses "equal jitter" (a delay in
[ceiling/2, ceiling]) because Apple's 403 window can last a whole minute and full jitter gives no lower bound:
with the defaults (base 2 s, cap 60 s, 8 retries) the retries are guaranteed to span at least
1+2+4+8+16+30+30+30 = 121 s of throttle (and at most 242 s), so a 60 s window is always outlasted.
Throttling (`max_retries`, 8) and transient faults (`transient_retries`, 4: full jitter, about 15 s on
average, 30 s at most with the defaults) each have their own budget and backoff ladder, so a minute of
throttling followed by a couple of 5xx (faults arrive mixed) does not exhaust it. A host name that does not
resolve (offline, typo) fails at once. Every attempt,
retries included, takes a token from the bucket: each is a call Apple counts.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from . import limits
from .errors import ConfigError, ItunesError, ItunesThrottled, ItunesUnavailable
from .models import SOURCE_ITUNES, Track
from .netutil import DEFAULT_REDIRECT_HOSTS, RedirectRefused, describe, get_following, strip_query, unresolvable
from .ratelimit import Clock, Sleep, TokenBucket, backoff_delay, parse_retry_after
from .text import clean, clean_name, clean_url

__all__ = ["DEFAULT_BASE_URL", "CatalogueSong", "ItunesClient", "ItunesCounters", "parse_results", "parse_songs",
           "parse_track", "strip_query"]

DEFAULT_BASE_URL = "https://itunes.apple.com"
MAX_LIMIT = 200
LOOKUP_CHUNK = 150
USER_AGENT = "musicrec-tui/0.1 (+https://github.com/musicrec-tui)"
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
_THROTTLE_STATUSES = frozenset({403, 429})
SEARCH_ATTRIBUTES = ("artistTerm", "albumTerm", "songTerm", "genreIndex", "composerTerm", "mixTerm")


@dataclass(frozen=True, slots=True)
class _Failure:
    """Why one attempt failed: shown in the final error and used to pick the backoff."""

    reason: str
    throttled: bool = False
    retry_after: float | None = None
    final: bool = False


@dataclass(frozen=True, slots=True)
class CatalogueSong:
    """A song with the catalogue ids a Track does not keep: its artist's and collection's iTunes ids.

    Discover needs them to walk from a song to its artist's other songs (`lookup?id=ARTIST&entity=song`)."""

    track: Track
    artist_id: int | None = None
    collection_id: int | None = None


@dataclass(slots=True)
class ItunesCounters:
    """What the client did so far: calls sent (retries included, each one Apple counts), answers that were
    throttling (403/429), other retried failures, calls answered from the cache, seconds slept in backoff."""

    calls: int = 0
    throttled: int = 0
    transient: int = 0
    cache_hits: int = 0
    backoff_s: float = 0.0

    def snapshot(self) -> ItunesCounters:
        return ItunesCounters(self.calls, self.throttled, self.transient, self.cache_hits, self.backoff_s)

    def since(self, before: ItunesCounters) -> ItunesCounters:
        """The difference to an earlier snapshot."""
        return ItunesCounters(self.calls - before.calls, self.throttled - before.throttled,
                              self.transient - before.transient, self.cache_hits - before.cache_hits,
                              self.backoff_s - before.backoff_s)


RetryHook = Callable[[str, float, bool], None]


class _Retry(Exception):
    def __init__(self, failure: _Failure) -> None:
        super().__init__(failure.reason)
        self.failure = failure


class ItunesClient:
    """Search and lookup against the iTunes Search API (or any server shaped like it, e.g. the test fake)."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        session: requests.Session | None = None,
        rate_per_minute: float = 20.0,
        burst: float = 1.0,
        max_retries: int = 8,
        transient_retries: int = 4,
        backoff_base: float = 2.0,
        backoff_cap: float = 60.0,
        max_retry_after: float = 300.0,
        timeout: float = 15.0,
        cache_size: int = 64,
        cache_ttl: float = 600.0,
        sleep: Sleep = time.sleep,
        clock: Clock = time.monotonic,
        rng: random.Random | None = None,
        allow_hosts: tuple[str, ...] = DEFAULT_REDIRECT_HOSTS,
        on_retry: RetryHook | None = None,
    ) -> None:
        parts = urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            shown = strip_query(str(base_url))
            raise ConfigError(f"iTunes base URL must be http(s)://host[:port][/path], got {shown!r}")
        if max_retries < 0 or transient_retries < 0:
            raise ConfigError("retry counts must be 0 or more")
        self.base_url = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
        self._session = session or requests.Session()
        self._session.headers.setdefault("User-Agent", USER_AGENT)
        self.bucket = TokenBucket(rate_per_minute, burst=burst, clock=clock, sleep=sleep)
        self.max_retries = max_retries
        self.transient_retries = transient_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_retry_after = max_retry_after
        self.timeout = timeout
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._cache: OrderedDict[tuple[str, tuple[tuple[str, str], ...]], tuple[float, tuple[CatalogueSong, ...]]] = (
            OrderedDict()
        )
        self.counters = ItunesCounters()
        # called before each backoff sleep with (reason, delay in s, throttled): throttling is shown, not silent
        self.on_retry = on_retry
        self._cache_size = cache_size
        self._cache_ttl = cache_ttl
        self._cache_lock = threading.Lock()
        self.allow_hosts = tuple(allow_hosts)

    # -- public API ---------------------------------------------------------------------------------------

    def search(self, term: str, limit: int = 50, country: str = "US") -> list[Track]:
        """Songs matching `term` (media=music, entity=song); `limit` is clamped to 1..200."""
        return [song.track for song in self.search_songs(term, limit, country)]

    def search_songs(self, term: str, limit: int = 50, country: str = "US",
                     attribute: str | None = None) -> list[CatalogueSong]:
        """Like `search`, with each song's artist and collection ids. `attribute` restricts the field the term
        matches: artistTerm, albumTerm, songTerm, genreIndex (the genre's name), composerTerm, mixTerm."""
        term = " ".join(clean(str(term)).split())  # a surrogate from argv or a paste cannot reach the encoder
        if not term:
            raise ConfigError("search term is empty")
        params = {"term": term, "media": "music", "entity": "song", "limit": str(_limit(limit)),
                  "country": _country(country)}
        if attribute is not None:
            if attribute not in SEARCH_ATTRIBUTES:
                raise ConfigError(f"unknown search attribute {attribute!r}",
                                  hint=f"choose one of: {', '.join(SEARCH_ATTRIBUTES)}")
            params["attribute"] = attribute
        return self._cached("/search", params)

    def lookup(self, ids: Iterable[int | str], country: str | None = None) -> list[Track]:
        """Songs for iTunes track ids, in the order given; ids that are not songs or unknown are left out."""
        return [song.track for song in self.lookup_songs(ids, country)]

    def lookup_songs(self, ids: Iterable[int | str], country: str | None = None) -> list[CatalogueSong]:
        """Like `lookup`, with each song's artist and collection ids."""
        wanted = _ids(ids, "track")
        found: dict[str, CatalogueSong] = {}
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            params = {"id": ",".join(wanted[start:start + LOOKUP_CHUNK])}
            if country is not None:
                params["country"] = _country(country)
            for song in self._cached("/lookup", params):
                found.setdefault(song.track.external_id, song)
        return [found[i] for i in wanted if i in found]

    def artist_songs(self, artist_ids: Iterable[int | str], limit: int = 50,
                     country: str | None = None) -> list[CatalogueSong]:
        """Songs of iTunes artists (or collections): `lookup?id=A,B&entity=song&limit=N`, one call for up to
        LOOKUP_CHUNK ids. Apple applies `limit` to each looked-up id; the artist records it also returns (first,
        `wrapperType` "artist") are left out."""
        wanted = _ids(artist_ids, "artist")
        out: list[CatalogueSong] = []
        seen: set[str] = set()
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            params = {"id": ",".join(wanted[start:start + LOOKUP_CHUNK]), "entity": "song",
                      "limit": str(_limit(limit))}
            if country is not None:
                params["country"] = _country(country)
            for song in self._cached("/lookup", params):
                if song.track.external_id not in seen:
                    seen.add(song.track.external_id)
                    out.append(song)
        return out

    # -- plumbing -----------------------------------------------------------------------------------------

    def _cached(self, path: str, params: Mapping[str, str]) -> list[CatalogueSong]:
        key = (path, tuple(sorted(params.items())))
        now = self._clock()
        with self._cache_lock:
            hit = self._cache.get(key)
            if hit is not None and now - hit[0] <= self._cache_ttl:
                self._cache.move_to_end(key)
                self.counters.cache_hits += 1
                return list(hit[1])
        tracks = tuple(parse_songs(self._get_json(path, params)))
        if self._cache_size > 0:
            with self._cache_lock:
                self._cache[key] = (self._clock(), tracks)
                self._cache.move_to_end(key)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return list(tracks)

    def _get_json(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        url = self.base_url + path
        attempts = 0
        retries = {True: 0, False: 0}  # per class: throttling, transient; each has its own budget
        while True:
            self.bucket.acquire()
            attempts += 1
            self.counters.calls += 1
            try:
                return self._attempt(url, params)
            except _Retry as retry:
                last = retry.failure
            if last.throttled:
                self.counters.throttled += 1
            else:
                self.counters.transient += 1
            done = retries[last.throttled]
            if done >= (self.max_retries if last.throttled else self.transient_retries) or last.final:
                break
            delay = self._delay(done, last)
            if delay is None:
                break
            retries[last.throttled] = done + 1
            if self.on_retry is not None:
                self.on_retry(last.reason, delay, last.throttled)
            self.counters.backoff_s += delay
            self._sleep(delay)
        what = "search" if path == "/search" else "lookup"
        plural = "s" if attempts > 1 else ""
        message = f"iTunes {what} failed: {last.reason} from {strip_query(url)} after {attempts} attempt{plural}"
        if last.throttled:
            raise ItunesThrottled(message, hint="Apple limits calls to about 20 a minute; try again later")
        raise ItunesUnavailable(message)

    def _delay(self, attempt: int, failure: _Failure) -> float | None:
        floor = 0.5 if failure.throttled else 0.0
        delay = backoff_delay(attempt, base=self.backoff_base, cap=self.backoff_cap, rng=self._rng,
                              floor=floor)
        if failure.retry_after is not None:
            if failure.retry_after > self.max_retry_after:
                return None
            delay = max(delay, failure.retry_after)
        return delay

    def _attempt(self, url: str, params: Mapping[str, str]) -> dict[str, Any]:
        try:
            resp = get_following(self._session, url, params=params, timeout=self.timeout,
                                 allow_hosts=self.allow_hosts)
            body = resp.content
        except RedirectRefused as exc:
            raise ItunesError(f"iTunes {exc} (from {strip_query(url)})") from None
        except requests.Timeout:
            raise _Retry(_Failure(f"timed out after {self.timeout:g} s")) from None
        except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema,
                requests.exceptions.MissingSchema) as exc:
            raise ConfigError(f"bad iTunes URL {strip_query(url)}: {type(exc).__name__}") from None
        except requests.exceptions.ChunkedEncodingError:
            raise _Retry(_Failure("body cut off (connection closed early)")) from None
        except requests.RequestException as exc:
            if "timed out" in str(exc).lower():
                raise _Retry(_Failure(f"timed out after {self.timeout:g} s")) from None
            raise _Retry(_Failure(describe(exc), final=unresolvable(exc))) from None
        status = resp.status_code
        if status in _THROTTLE_STATUSES:
            after = parse_retry_after(resp.headers.get("Retry-After"))
            raise _Retry(_Failure(f"HTTP {status} (throttled)", throttled=True, retry_after=after))
        if status >= 500:
            after = parse_retry_after(resp.headers.get("Retry-After"))
            raise _Retry(_Failure(f"HTTP {status}", retry_after=after))
        if status != 200:
            raise ItunesError(f"iTunes answered HTTP {status} for {strip_query(url)}")
        return _decode_body(body)


def _decode_body(body: bytes) -> dict[str, Any]:
    """JSON despite text/javascript; an HTML page, malformed or cut-off JSON is a retryable failure."""
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        raise _Retry(_Failure("empty body"))
    if text.startswith("<"):
        raise _Retry(_Failure("HTML error page instead of JSON"))
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        kind = "malformed JSON" if text.endswith("}") else "cut-off JSON"
        raise _Retry(_Failure(kind)) from None
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise _Retry(_Failure("JSON without a results list"))
    return data


def _limit(limit: object) -> int:
    try:
        value = int(limit) if isinstance(limit, int | float | str) else int(str(limit))
    except (TypeError, ValueError):
        raise ConfigError(f"limit must be a whole number, got {limit!r}") from None
    return max(1, min(MAX_LIMIT, value))


def _ids(ids: Iterable[int | str], what: str) -> list[str]:
    """Distinct ids as canonical digit strings, in the order given; ConfigError for anything else."""
    wanted: list[str] = []
    for raw in ids:
        text = str(raw).strip()
        if not text.isdigit() or len(text) > 19:
            raise ConfigError(f"not an iTunes {what} id: {text!r}")
        text = str(int(text))
        if text not in wanted:
            wanted.append(text)
    return wanted


def _country(country: str) -> str:
    text = str(country).strip()
    if not _COUNTRY.match(text):
        raise ConfigError(f"country must be a two-letter store code such as US or GB, got {country!r}")
    return text.upper()


# -- parsing ----------------------------------------------------------------------------------------------

def parse_results(data: Mapping[str, Any]) -> list[Track]:
    """Songs (wrapperType track, kind song) of a search/lookup body as Tracks; anything else is skipped."""
    return [song.track for song in parse_songs(data)]


def parse_songs(data: Mapping[str, Any]) -> list[CatalogueSong]:
    """Songs of a search/lookup body with their artist and collection ids; anything else is skipped."""
    songs: list[CatalogueSong] = []
    for item in data.get("results") or ():
        if isinstance(item, dict) and item.get("wrapperType") == "track" and item.get("kind") == "song":
            track = parse_track(item)
            if track is not None:
                artist, collection = _int(item.get("artistId")), _int(item.get("collectionId"))
                songs.append(CatalogueSong(track, artist if artist and artist > 0 else None,
                                           collection if collection and collection > 0 else None))
    return songs


def parse_track(item: Mapping[str, Any]) -> Track | None:
    """One song item as a Track, or None without a usable trackId. Missing fields are normal.

    Every string goes through the one normalisation (core/text.py): lone surrogates (legal in JSON) become
    U+FFFD, controls and bidi overrides go, names are capped; numbers out of range become None."""
    track_id = limits.int_field(item.get("trackId"), 1, limits.MAX_ID)
    if track_id is None:
        return None
    return Track(
        source=SOURCE_ITUNES,
        external_id=str(track_id),
        title=_text(item.get("trackName")) or "",
        artist=_text(item.get("artistName")) or "",
        album=_text(item.get("collectionName")) or "",
        genre=_text(item.get("primaryGenreName")) or "",
        duration_ms=_int(item.get("trackTimeMillis")),
        preview_url=_url(item.get("previewUrl")),
        artwork_url=_url(item.get("artworkUrl100") or item.get("artworkUrl60") or item.get("artworkUrl30")),
        release_date=_text(item.get("releaseDate")),
        track_number=limits.int_field(item.get("trackNumber"), 0, 2**31 - 1),
        country=_text(item.get("country")),
    ).normalised()


def _int(value: Any) -> int | None:
    return limits.int_field(value)


def _text(value: Any) -> str | None:
    """A display string by the one rule (core/text.clean_name): metadata ends up in a terminal, where an escape
    sequence in a title would be an injection. Other Unicode is kept as is."""
    if value is None or isinstance(value, dict | list | bool):
        return None
    text = clean_name(str(value)).strip()
    return text or None


def _url(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list | bool):
        return None
    return clean_url(str(value))
