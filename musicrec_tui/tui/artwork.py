"""Album artwork for the player bar: downloaded once into the artwork cache, decoded with PyAV, drawn in
half-blocks. Runs in a worker."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np
from rich.text import Text

from ..app.services import Downloader
from ..core.errors import DecodeError
from ..core.models import Track
from .widgets.halfblock import rgb_to_text

_SIZE = re.compile(r"/\d+x\d+bb\.")


def small_url(url: str, pixels: int = 60) -> str:
    """iTunes artwork URLs name their size (…/100x100bb.jpg): ask for a small one."""
    return _SIZE.sub(f"/{pixels}x{pixels}bb.", url)


def decode_image(data: bytes, width: int, height: int) -> np.ndarray:
    """JPEG/PNG bytes → (height, width, 3) uint8, via PyAV (no Pillow needed)."""
    import av

    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            frame = next(container.decode(video=0))
            return frame.reformat(width=width, height=height, format="rgb24").to_ndarray()
    except (av.FFmpegError, StopIteration, ValueError) as exc:
        raise DecodeError(f"cannot decode artwork: {exc}") from None


def artwork_text(track: Track, download: Downloader | None, directory: Path | None, cells: int,
                 key: str) -> Text | None:
    """The cached (or freshly downloaded) artwork as `cells` x `cells/2` half-block cells."""
    if not track.artwork_url or download is None:
        return None
    path: Path | None = directory / f"{key}.img" if directory is not None else None
    if path is not None and path.exists():
        data = path.read_bytes()
    else:
        data = download(small_url(track.artwork_url))
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
    return rgb_to_text(decode_image(data, cells, cells))
