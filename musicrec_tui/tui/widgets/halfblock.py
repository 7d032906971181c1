"""Pictures in the terminal with '▀' half-blocks: two pixel rows per cell (fg = top, bg = bottom)."""

from __future__ import annotations

import numpy as np
from rich.color import Color
from rich.style import Style
from rich.text import Text

# A perceptual-ish colour map (dark blue → purple → orange → pale yellow), like magma, 6 anchors.
_ANCHORS = np.array([[0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66],
                     [245, 125, 21], [250, 193, 39], [252, 255, 164]], dtype=np.float64)


def colormap(values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] to uint8 RGB with the built-in palette."""
    v = np.clip(np.nan_to_num(values, nan=0.0), 0.0, 1.0) * (len(_ANCHORS) - 1)
    lo = np.floor(v).astype(int)
    hi = np.minimum(lo + 1, len(_ANCHORS) - 1)
    frac = (v - lo)[..., None]
    rgb: np.ndarray = (_ANCHORS[lo] * (1 - frac) + _ANCHORS[hi] * frac).astype(np.uint8)
    return rgb


def rgb_to_text(rgb: np.ndarray) -> Text:
    """An (H, W, 3) uint8 image as Rich Text, H/2 lines of W cells (H is padded to even)."""
    if rgb.shape[0] % 2:
        rgb = np.concatenate([rgb, np.zeros_like(rgb[:1])], axis=0)
    text = Text(no_wrap=True, overflow="crop")
    styles: dict[tuple[int, ...], Style] = {}
    for row in range(0, rgb.shape[0], 2):
        top, bottom = rgb[row], rgb[row + 1]
        for x in range(rgb.shape[1]):
            key = (*top[x].tolist(), *bottom[x].tolist())
            style = styles.get(key)
            if style is None:
                style = Style(color=Color.from_rgb(*key[:3]), bgcolor=Color.from_rgb(*key[3:]))
                styles[key] = style
            text.append("▀", style)
        if row + 2 < rgb.shape[0]:
            text.append("\n")
    return text


def heatmap_to_text(values: np.ndarray) -> Text:
    """A 2-D array in [0, 1], row 0 at the top, drawn with the palette."""
    return rgb_to_text(colormap(values))


def waveform_rows(samples: np.ndarray, width: int, height: int) -> np.ndarray:
    """A (2*height, width) mask of a min/max waveform envelope, for `mask_to_text`."""
    pixels = max(2, 2 * height)
    if samples.size == 0 or width <= 0:
        return np.zeros((pixels, max(width, 0)), dtype=bool)
    chunks = np.array_split(samples.astype(np.float32), width)
    peak = max(float(np.max(np.abs(samples))), 1e-9)
    mask = np.zeros((pixels, width), dtype=bool)
    mid = (pixels - 1) / 2.0
    for x, chunk in enumerate(chunks):
        if chunk.size == 0:
            continue
        hi = float(chunk.max()) / peak
        lo = float(chunk.min()) / peak
        top = round(mid - hi * mid)
        bottom = round(mid - lo * mid)
        mask[max(0, top):min(pixels, bottom + 1), x] = True
    return mask


def mask_to_text(mask: np.ndarray, on: tuple[int, int, int] = (94, 176, 239),
                 off: tuple[int, int, int] = (20, 20, 28)) -> Text:
    """A boolean (H, W) mask as two-colour half-blocks."""
    rgb = np.empty((*mask.shape, 3), dtype=np.uint8)
    rgb[mask] = on
    rgb[~mask] = off
    return rgb_to_text(rgb)

