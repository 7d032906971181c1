"""Registry of feature extractors, by name. Each extractor lives in its own module."""

from __future__ import annotations

from types import MappingProxyType

from ..errors import ConfigError
from .base import Extractor

__all__ = ["DEFAULT_EXTRACTOR", "Extractor", "available", "get"]

DEFAULT_EXTRACTOR = "musicnn"  # chosen by benchmarks/bench_quality.py (see benchmarks/QUALITY.md)


def _build() -> MappingProxyType[str, Extractor]:
    from . import handcrafted, musicnn, stats256

    found = [stats256.EXTRACTOR, handcrafted.EXTRACTOR, musicnn.EXTRACTOR]
    return MappingProxyType({e.name: e for e in found})


def available() -> MappingProxyType[str, Extractor]:
    """All registered extractors by name."""
    return _build()


def get(name: str | None = None) -> Extractor:
    """The extractor called `name` (the default one when None); ConfigError naming the choices otherwise."""
    registry = _build()
    key = name or DEFAULT_EXTRACTOR
    if key not in registry:
        raise ConfigError(f"unknown extractor {key!r}", hint=f"choose one of: {', '.join(sorted(registry))}")
    return registry[key]
