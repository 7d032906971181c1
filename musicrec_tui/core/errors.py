"""Typed errors of the core. The CLI turns each into one line and an exit code; the TUI into a notification."""

from __future__ import annotations


class MusicrecError(Exception):
    """Base of every error meant to be shown to a person as one line."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def one_line(self) -> str:
        text = str(self)
        return f"{text} ({self.hint})" if self.hint else text


class ConfigError(MusicrecError):
    """A setting, URL or path that cannot be used."""


class StoreError(MusicrecError):
    """The library database refused an operation."""


class StoreUnavailable(StoreError):
    """The library database cannot be reached or opened."""


class StoreBusy(StoreError):
    """Another process holds the library's write lock for too long."""


class StoreConflict(StoreBusy):
    """A transaction lost a deadlock or waited too long for a row lock (MySQL): it was rolled back whole and
    may simply be run again."""


class StoreDenied(StoreUnavailable):
    """The database user lacks a privilege the operation needs (e.g. to migrate the schema)."""


class NotFound(MusicrecError):
    """A track, id or file that does not exist."""


class ItunesError(MusicrecError):
    """The catalogue answered with an error after every retry."""


class ItunesThrottled(ItunesError):
    """The catalogue kept refusing calls (403/429) after every retry."""


class ItunesUnavailable(ItunesError):
    """The catalogue could not be reached, timed out, or answered garbage after every retry."""


class DownloadError(MusicrecError):
    """A preview could not be downloaded intact."""


class PreviewGone(DownloadError):
    """The preview URL answers 404/410: saved URLs expire; a fresh lookup by trackId gives a new one."""


class DecodeError(MusicrecError):
    """Audio that cannot be decoded, is silent, or is too short to analyse."""


class AnalysisError(MusicrecError):
    """A feature extractor could not produce a vector."""

