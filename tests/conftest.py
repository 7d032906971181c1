"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fake_itunes import FakeClock, FakeItunes, Previews


@pytest.fixture(scope="session")
def fake_previews() -> Previews:
    """Real AAC/m4a previews, encoded once per session on first use."""
    return Previews()


@pytest.fixture
def fake_itunes(fake_previews: Previews) -> Iterator[FakeItunes]:
    """A fresh fake iTunes server on 127.0.0.1 (empty catalogue, no faults, its own FakeClock in .clock)."""
    with FakeItunes(fake_previews, clock=FakeClock()) as server:
        yield server
