"""A photo as the product keeps it: its type judged by content, its size and dimensions
bounded, every EXIF tag (GPS included) dropped after the orientation is applied, re-encoded
as JPEG, with a thumbnail.

The report keeps its own position (from the phone or a map tap); the picture keeps none.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from dashboard.incidents.errors import BadInput

# What a phone's camera or gallery gives; judged by the bytes, never by the name or the
# Content-Type the client claims. MPO is the JPEG some phones write (a second frame).
ACCEPTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP"})
THUMB_PX = 320  # the longer side of a thumbnail (console detail, wall focus card)
# The longer side of the picture kept: enough for a console or a wall; a 12 MP phone photo
# is decoded at half its size straight from the JPEG (draft), 15 times faster than whole.
KEEP_PX = 1920
JPEG_QUALITY = 85
CONTENT_TYPE = "image/jpeg"  # what is kept and served, whatever came in


@dataclass(frozen=True)
class PhotoLimits:
    """The bounds a photo must keep (ZN_PHOTO_MAX_BYTES, ZN_PHOTO_MAX_PIXELS)."""

    max_bytes: int = 8 * 1024 * 1024
    max_pixels: int = 50_000_000


@dataclass(frozen=True)
class Prepared:
    """A checked photo: the picture and its thumbnail as JPEG bytes without EXIF."""

    full: bytes
    thumb: bytes
    width: int
    height: int
    source_format: str  # JPEG | MPO | PNG | WEBP: what the phone sent


def check_size(size: int, limits: PhotoLimits) -> None:
    """BadInput 'photo_too_large' (with the limit in MB) over the byte limit, 'photo_empty'
    for nothing."""
    if size <= 0:
        raise BadInput("photo_empty")
    if size > limits.max_bytes:
        raise BadInput("photo_too_large", max_mb=f"{limits.max_bytes / 1024 / 1024:g}")


def prepare(data: bytes, limits: PhotoLimits) -> Prepared:
    """The photo to keep, or BadInput: photo_empty, photo_too_large, photo_not_image (not a
    picture, or a broken one), photo_type (a picture of another format), photo_dimensions."""
    check_size(len(data), limits)
    try:
        with warnings.catch_warnings():
            # Pillow warns of a decompression bomb; here it is a refusal, not a warning.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as opened:  # reads the header only
                fmt = str(opened.format or "")
                if fmt not in ACCEPTED_FORMATS:
                    raise BadInput("photo_type", format=fmt or "?")
                width, height = opened.size
                if width < 1 or height < 1 or width * height > limits.max_pixels:
                    raise BadInput("photo_dimensions", width=width, height=height,
                                   max_mp=f"{limits.max_pixels / 1e6:g}")
                if max(width, height) > KEEP_PX:
                    scale = KEEP_PX / max(width, height)
                    opened.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
                opened.load()  # decodes: a truncated or forged file fails here
                upright = ImageOps.exif_transpose(opened)  # the orientation, applied
                picture = _rgb(upright)
    except BadInput:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise BadInput("photo_dimensions", max_mp=f"{limits.max_pixels / 1e6:g}") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise BadInput("photo_not_image") from exc
    picture.thumbnail((KEEP_PX, KEEP_PX), Image.Resampling.LANCZOS)
    thumb = picture.copy()
    thumb.thumbnail((THUMB_PX, THUMB_PX), Image.Resampling.LANCZOS)
    return Prepared(full=_jpeg(picture), thumb=_jpeg(thumb), width=picture.width,
                    height=picture.height, source_format=fmt)


def _rgb(image: Image.Image) -> Image.Image:
    """The picture as plain RGB; transparency over white (a PNG screenshot)."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        back = Image.new("RGB", rgba.size, (255, 255, 255))
        back.paste(rgba, mask=rgba.getchannel("A"))
        return back
    return image.convert("RGB")


def _jpeg(image: Image.Image) -> bytes:
    """JPEG bytes with no metadata: a new image carries no EXIF, ICC or XMP unless told."""
    out = io.BytesIO()
    clean = Image.new("RGB", image.size)
    clean.paste(image)
    clean.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()
