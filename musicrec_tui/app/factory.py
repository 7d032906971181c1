"""Build the app's collaborators from Settings, in one place, for the CLI, the TUI and the tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..config import Settings, ensure_writable_dir
from ..core.errors import DownloadError

if TYPE_CHECKING:  # kept out of the TUI's start-up path: the clients are built lazily, in a worker
    from ..core.fetch import PreviewCache
    from ..core.itunes import ItunesClient
    from ..ingest.pipeline import IngestPipeline
    from ..playback.base import Player
    from ..store.base import SqlLibrary
    from ..store.protocol import Library
    from .discover import Discoverer
    from .search import Catalogue
    from .services import EventSink, Services

INTERACTIVE_RETRIES = 3  # throttling retries for searches made from the app (the CLI uses itunes.max_retries)
ARTWORK_MAX_BYTES = 2 * 1024 * 1024


def make_itunes_client(settings: Settings, *, max_retries: int | None = None,
                       sleep: Callable[[float], None] | None = None) -> ItunesClient:
    """The catalogue client; `max_retries` (fewer for an interactive search) wins over settings. `sleep` paces
    and backs off (Discover passes one that a cancel interrupts)."""
    import time

    from ..core.itunes import ItunesClient

    return ItunesClient(settings.itunes_base_url, rate_per_minute=settings.itunes_rate_per_minute,
                        timeout=settings.itunes_timeout,
                        max_retries=settings.itunes_max_retries if max_retries is None else max_retries,
                        transient_retries=settings.itunes_transient_retries, sleep=sleep or time.sleep,
                        allow_hosts=settings.redirect_hosts)


def make_cache(settings: Settings, *, check: str = "probe", max_file_bytes: int | None = None,
               sleep: Callable[[float], None] | None = None) -> PreviewCache:
    """The preview cache. By default it only probes a download (decodes its head): analysis decodes the whole
    file anyway, and the pipeline discards a preview whose analysis fails. Playback asks for check="decode"
    (a short or quiet preview still plays). Tests shrink `max_file_bytes` and pass a fake clock's `sleep`."""
    import time

    from ..core.fetch import PreviewCache

    return PreviewCache(ensure_writable_dir(settings.paths.previews_dir, "cache"),
                        max_bytes=settings.cache_max_mb * 1024 * 1024,
                        max_file_bytes=max_file_bytes or settings.preview_max_mb * 1024 * 1024, check=check,
                        sleep=sleep or time.sleep, allow_hosts=settings.redirect_hosts,
                        deadline=settings.download_deadline, min_rate=settings.download_min_rate)


def make_library(settings: Settings) -> SqlLibrary:
    from ..store import open_library

    return open_library(settings.db_url)


def make_pipeline(settings: Settings, library: Library, *, cache: PreviewCache | None = None,
                  on_event: EventSink | None = None, workers: int | None = None, extractor: str | None = None,
                  catalogue: Catalogue | None = None) -> IngestPipeline:
    """An ingest pipeline over `library`; an expired preview URL is refreshed by one catalogue lookup."""
    from ..ingest.pipeline import IngestPipeline

    client = catalogue if catalogue is not None else make_itunes_client(settings)
    return IngestPipeline(settings, library, cache=cache if cache is not None else make_cache(settings),
                          on_event=on_event, workers=workers, extractor=extractor,
                          lookup=lambda ids: client.lookup(ids))


def make_player(settings: Settings, device: str | None = None, volume: float = 1.0) -> Player:
    from ..playback import make_player as make_output

    return make_output(device or settings.playback_device, volume=volume)


def download_bytes(url: str, timeout: float = 10.0) -> bytes:
    """GET a small file (artwork) into memory, capped; DownloadError with one line otherwise."""
    import requests

    from ..core.netutil import DEFAULT_REDIRECT_HOSTS, RedirectRefused, get_following

    try:
        with get_following(requests.Session(), url, allow_hosts=DEFAULT_REDIRECT_HOSTS, timeout=timeout,
                           stream=True) as resp:
            if resp.status_code != 200:
                raise DownloadError(f"HTTP {resp.status_code} for artwork")
            data = bytearray()
            for chunk in resp.iter_content(65536):
                data += chunk
                if len(data) > ARTWORK_MAX_BYTES:
                    raise DownloadError("artwork larger than 2 MB")
            return bytes(data)
    except RedirectRefused as exc:
        raise DownloadError(f"cannot fetch artwork: {exc}") from None
    except requests.RequestException as exc:
        raise DownloadError(f"cannot fetch artwork: {type(exc).__name__}") from None


def make_services(settings: Settings, *, catalogue: Catalogue | None = None, player: Player | None = None,
                  workers: int | None = None, artwork: bool = True) -> Services:
    """The app's Services. Clients, cache and player are built lazily (in the app's first worker): importing
    requests and probing PortAudio then costs nothing before the first frame. Tests pass their own catalogue
    (the fake server) and player (a stepped fake output), and fewer analysis workers."""
    from .recommender import Recommender  # not .recommend: that loads numpy and the index
    from .services import Lazy, Services

    def build_catalogue() -> Catalogue:
        # a person is waiting: give up on throttling after ~15 s of retries and say so, rather than after minutes
        return make_itunes_client(settings, max_retries=min(settings.itunes_max_retries, INTERACTIVE_RETRIES))

    client: Lazy[Catalogue] = Lazy(lambda: catalogue) if catalogue is not None else Lazy(build_catalogue)
    # to play and draw, a preview only has to decode (a short one still plays, as with `musicrec play`); the
    # pipeline's cache over the same folder also rejects audio too short to analyse
    previews: Lazy[PreviewCache] = Lazy(lambda: make_cache(settings, check="decode"))
    analysable: Lazy[PreviewCache] = Lazy(lambda: make_cache(settings))

    def pipeline(library: Library, on_event: EventSink) -> IngestPipeline:
        # the lookup refreshes an expired preview URL, as on the command line
        return make_pipeline(settings, library, cache=analysable.get(), on_event=on_event, workers=workers,
                             catalogue=client.get())

    def discoverer(library: Library) -> Discoverer:
        from .discover import Discoverer

        # its own client: Discover's requests wait out throttling (the full retries), and a cancel interrupts them
        return Discoverer(settings, library, cache=previews.get(), workers=workers,
                          client_factory=lambda sleep: make_itunes_client(settings, sleep=sleep))

    return Services(
        open_library=lambda: make_library(settings),
        catalogue=client,
        previews=previews,
        player=Lazy(lambda: player) if player is not None else Lazy(lambda: make_player(settings)),
        make_pipeline=pipeline,
        recommender=Recommender(settings.extractor, settings.hubness, settings.explainer,
                                cache_dir=settings.paths.cache_dir, approximate_above=settings.approximate_above),
        download=download_bytes if artwork else None,
        artwork_dir=settings.paths.artwork_dir,
        country=settings.itunes_country,
        make_discoverer=discoverer,
    )
