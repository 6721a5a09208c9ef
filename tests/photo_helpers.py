"""Pictures made in the test, as phones make them: a JPEG carrying EXIF with a GPS fix and
an orientation, a PNG, bytes that only claim to be a picture."""

from __future__ import annotations

import io

from PIL import Image

# Where the photo's EXIF says it was taken: 30°33'N 104°27'E (the demo town).
GPS_IFD = 0x8825
ORIENTATION = 0x0112


def jpeg_with_gps(size: tuple[int, int] = (800, 600), orientation: int = 6) -> bytes:
    """A JPEG whose EXIF names the camera, a GPS position and an orientation (6: the
    phone was held upright, the picture must be turned 90° to be seen upright). The left
    half is red, the right half blue, so a turn can be seen."""
    image = Image.new("RGB", size, (220, 20, 20))
    image.paste((20, 20, 220), (size[0] // 2, 0, size[0], size[1]))
    exif = Image.Exif()
    exif[0x010F] = "ZhongnaoTestCam"  # Make
    exif[ORIENTATION] = orientation
    exif[GPS_IFD] = {1: "N", 2: (30.0, 33.0, 12.5), 3: "E", 4: (104.0, 27.0, 3.25)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def png(size: tuple[int, int] = (640, 480), alpha: bool = True) -> bytes:
    """A PNG (with transparency: a screenshot)."""
    image = Image.new("RGBA" if alpha else "RGB", size, (30, 160, 60, 128) if alpha
                      else (30, 160, 60))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def gif(size: tuple[int, int] = (64, 64)) -> bytes:
    """A GIF: a picture, but not of a format a phone's camera makes."""
    out = io.BytesIO()
    Image.new("P", size, 3).save(out, "GIF")
    return out.getvalue()
