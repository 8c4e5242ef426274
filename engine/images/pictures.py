"""One picture read from a file, whatever its format: PNG, JPEG, BMP, TIFF (16-bit too), WebP, GIF, and DICOM.

Every picture comes out as an 8-bit RGB image the right way up (EXIF orientation applied), with what it was
before (gray or colour, its size), or as a `DataError` that says in a sentence why it cannot be used: not a
picture at all, cut short, far too large, a DICOM file without an image in it. Torch-free: the doctor and
the window read pictures through here too.
"""

from __future__ import annotations

import stat
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from engine.data.errors import DataError

#: The endings of the picture files read; others in a folder are passed over.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".dcm", ".dicom"})
#: A picture with more pixels than this is refused before it is decoded (a 30000x30000 header would need
#: gigabytes): about 16,000 x 16,000, far beyond any photo, scan or slide tile a model is shown at 224 pixels.
MAX_PIXELS = 256_000_000
#: Pillow's own guard against decompression bombs, raised above ours so ours speaks first, with the size.
Image.MAX_IMAGE_PIXELS = 4 * MAX_PIXELS
DICOM_MAGIC_AT = 128  # DICOM files carry "DICM" after a 128-byte preamble


@dataclass
class Picture:
    image: Image.Image  # 8-bit RGB, the right way up
    width: int  # as stored in the file
    height: int
    gray: bool  # stored as one channel (or three equal ones): a grayscale picture


def is_picture_name(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def looks_dicom(path: Path) -> bool:
    if path.suffix.lower() in (".dcm", ".dicom"):
        return True
    try:
        with path.open("rb") as handle:
            head = handle.read(DICOM_MAGIC_AT + 4)
    except OSError:
        return False
    return head[DICOM_MAGIC_AT:] == b"DICM"


def read_picture(path: str | Path, shown: str = "") -> Picture:
    """The picture in `path` (`shown`: how the person knows it, for the sentences), or a DataError."""
    path = Path(path)
    name = shown or path.name
    try:
        status = path.stat()
    except OSError:
        raise DataError("file.missing", file=name) from None
    if not stat.S_ISREG(status.st_mode):  # a pipe named like a picture: reading it would wait for ever
        raise DataError("file.not_ordinary", file=name)
    if status.st_size == 0:
        raise DataError("image.empty", file=name)
    if looks_dicom(path):
        return _read_dicom(path, name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as opened:
                width, height = opened.size
                if width * height > MAX_PIXELS:
                    raise DataError("image.too_large", file=name, width=width, height=height)
                opened.load()
                upright = ImageOps.exif_transpose(opened)
        return _as_rgb(upright, width, height)
    except DataError:
        raise
    except Image.DecompressionBombError:
        raise DataError("image.too_large", file=name, width="over 45,000", height="45,000") from None
    except UnidentifiedImageError:
        raise DataError("image.not_a_picture", file=name) from None
    except OSError as error:  # Pillow says "image file is truncated" or "broken data stream" for cut-short files
        if "truncated" in str(error) or "broken" in str(error):
            raise DataError("image.truncated", file=name) from None
        raise DataError("image.unreadable", file=name, reason=str(error)) from None
    except (ValueError, SyntaxError, MemoryError) as error:  # damaged headers, bad TIFF tags
        raise DataError("image.unreadable", file=name, reason=f"{type(error).__name__}: {error}") from None


def _as_rgb(image: Image.Image, width: int, height: int) -> Picture:
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):  # 16-bit and float: stretched from 0 to its own largest value
        image = Image.fromarray(_to_8bit(np.asarray(image)))
        mode = "L"
    if mode in ("1", "L", "LA", "I;16", "La"):
        gray = True
    elif mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        gray = False
    else:
        gray = False
    rgb = image.convert("RGB")
    if not gray:
        # reducing_gap: box-reduced first, so a 12-megapixel photo's test takes 30 ms, not 170 (every training
        # picture is read through here in every epoch); each channel is reduced alike, so gray stays gray
        small = np.asarray(rgb.resize((32, 32), reducing_gap=3.0) if rgb.width * rgb.height > 1024 else rgb, dtype=np.int16)
        gray = bool(np.abs(small[..., 0] - small[..., 1]).max() <= 2 and np.abs(small[..., 1] - small[..., 2]).max() <= 2)
    return Picture(rgb, width, height, gray)


def _to_8bit(values: np.ndarray) -> np.ndarray:
    values = values.astype(np.float64)
    low, high = float(np.nanmin(values)), float(np.nanmax(values))
    low = min(low, 0.0) if low >= 0 else low
    if high <= low:
        return np.zeros(values.shape, dtype=np.uint8)
    return np.clip((values - low) / (high - low) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _read_dicom(path: Path, name: str) -> Picture:
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        dataset = pydicom.dcmread(path, force=True)
    except (InvalidDicomError, OSError, ValueError, EOFError) as error:
        raise DataError("image.unreadable", file=name, reason=f"{type(error).__name__}: {error}") from None
    if "PixelData" not in dataset:
        raise DataError("image.dicom_no_pixels", file=name)
    try:
        pixels = dataset.pixel_array
    except (RuntimeError, NotImplementedError) as error:  # a compression no installed decoder reads
        raise DataError("image.dicom_compressed", file=name, reason=str(error).splitlines()[0]) from None
    except (ValueError, AttributeError, EOFError) as error:
        raise DataError("image.unreadable", file=name, reason=f"{type(error).__name__}: {error}") from None
    photometric = str(dataset.get("PhotometricInterpretation", "MONOCHROME2"))
    frames = int(dataset.get("NumberOfFrames", 1) or 1)
    if frames > 1:
        pixels = pixels[frames // 2]  # a series or a clip: its middle frame stands for it
    if pixels.ndim == 3 and pixels.shape[-1] == 3:
        if photometric.startswith("YBR"):
            from pydicom.pixels import convert_color_space

            pixels = convert_color_space(pixels, photometric, "RGB")
        image = Image.fromarray(_to_8bit(pixels) if pixels.dtype != np.uint8 else pixels, "RGB")
        return _as_rgb(image, image.width, image.height)
    if pixels.ndim != 2:
        raise DataError("image.unreadable", file=name, reason=f"pixel data of shape {pixels.shape}")
    try:
        from pydicom.pixels import apply_modality_lut, apply_voi_lut

        pixels = apply_voi_lut(apply_modality_lut(pixels, dataset), dataset)  # the window the scanner meant
    except (ValueError, KeyError, AttributeError, TypeError):
        pass  # no usable lookup tables: the stored values stretched
    gray = _to_8bit(np.asarray(pixels))
    if photometric == "MONOCHROME1":  # stored with white for the lowest values
        gray = 255 - gray
    return Picture(Image.fromarray(gray, "L").convert("RGB"), gray.shape[1], gray.shape[0], True)


def thumbnail(picture: Picture, size: int = 64) -> np.ndarray:
    """A small grayscale copy (for hashes and blankness), as an array of 0-255 values."""
    return np.asarray(picture.image.convert("L").resize((size, size), Image.Resampling.BILINEAR), dtype=np.float32)
