"""The text encoding of the files people bring, found by their bytes.

Excel on Windows writes Windows-1252, on a Mac UTF-8, its "Unicode text" UTF-16 (with or without a mark),
and a file pasted together from two programs holds both UTF-8 and Windows-1252 lines. ``detect_encoding``
names the codec that reads a file as its author wrote it, and refuses a file that is not text at all (a
picture or program renamed .csv) with a sentence. Only the standard library is used.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from engine.data.errors import DataError

HEAD_BYTES = 64 * 1024

#: UTF-8 where the bytes are UTF-8, Windows-1252 where they are not: the text of a file that was pasted
#: together from two programs (30 rows saved on a Mac, 30 from Excel on Windows). Each character is read by
#: what it is, where reading the whole file as Windows-1252 would turn every UTF-8 "é" into "Ã©".
MIXED_ENCODING = "utf-8-or-windows-1252"
_CP1252_UNDEFINED = {0x81, 0x8D, 0x8F, 0x90, 0x9D}


def _as_windows_1252(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    return "".join(chr(byte) if byte in _CP1252_UNDEFINED else bytes([byte]).decode("cp1252") for byte in bad), error.end


codecs.register_error("tunewright-windows-1252", _as_windows_1252)


class _MixedDecoder(codecs.BufferedIncrementalDecoder):
    def _buffer_decode(self, data: bytes, errors: str, final: bool) -> tuple[str, int]:
        return codecs.utf_8_decode(data, "tunewright-windows-1252", final)


def _find_codec(name: str) -> codecs.CodecInfo | None:
    if name != MIXED_ENCODING.replace("-", "_"):
        return None
    utf8 = codecs.lookup("utf-8")
    return codecs.CodecInfo(
        name=MIXED_ENCODING, encode=utf8.encode,
        decode=lambda data, errors="strict": codecs.utf_8_decode(data, "tunewright-windows-1252", True),
        incrementalencoder=utf8.incrementalencoder, incrementaldecoder=_MixedDecoder,
        streamreader=utf8.streamreader, streamwriter=utf8.streamwriter,
    )


codecs.register(_find_codec)


def detect_encoding(path: Path, *, thorough: bool = False) -> str:
    """The encoding people's files actually use, from the byte-order mark or by trying.

    UTF-16 is taken when the file starts with its byte-order mark (Excel's "Unicode text" export) or when
    every other byte of an ASCII-looking head is zero; then UTF-8 (with or without a mark); then
    Windows-1252, which Excel on Windows writes for "CSV"; and finally Latin-1, which can decode any bytes
    at all, so a text file is never refused for its encoding. A file that is not text is refused here.
    """
    head = read_head(path, HEAD_BYTES)
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "utf-32"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        if not _decodes(path, head, "utf-16", thorough):
            raise DataError("file.unreadable", file=path.name, kind="a UTF-16 text file", detail="")
        return "utf-16"
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    else:
        encoding = _utf16_without_mark(head) or ""
        if encoding:
            return encoding
        _refuse_binary(path, head)
        encoding = "utf-8"
    if _decodes(path, head, encoding, thorough):
        return encoding
    if thorough and _mixed_lines(path, encoding)[0]:
        return MIXED_ENCODING
    if _decodes(path, head, "cp1252", thorough):
        return "cp1252"
    return "latin-1"


def _mixed_lines(path: Path, encoding: str = "utf-8") -> tuple[int, int]:
    """(lines with UTF-8 beyond plain ASCII, lines with bytes that are not UTF-8). Both above zero: the
    file mixes UTF-8 with another encoding; no UTF-8 at all: it is simply in another encoding."""
    utf8 = other = 0
    decoder = codecs.getincrementaldecoder(encoding)(errors="surrogateescape")
    rest = ""
    with path.open("rb") as file:
        while True:
            chunk = file.read(2**20)
            lines = (rest + decoder.decode(chunk, final=not chunk)).split("\n")
            rest = lines.pop() if chunk else ""
            for line in lines:
                if line.isascii():
                    continue
                escaped = any("\udc80" <= char <= "\udcff" for char in line)
                other += escaped
                utf8 += not escaped or any(char > "\x7f" and not "\udc80" <= char <= "\udcff" for char in line)
            if not chunk:
                return utf8, other


def lines_in_windows_1252(path: str | Path) -> int:
    """How many lines of a file read as MIXED_ENCODING were in Windows-1252 (for the doctor to say)."""
    return _mixed_lines(Path(path))[1]


def _utf16_without_mark(head: bytes) -> str | None:
    sample = head[: 4096 - 4096 % 2]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


_MAGIC = [(b"%PDF", "a PDF document"), (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
          (b"GIF8", "a GIF image"), (b"\x1f\x8b", "a gzip archive"), (b"\xd0\xcf\x11\xe0", "an old Office (.xls/.doc) file"),
          (b"7z\xbc\xaf", "a 7-Zip archive"), (b"\x7fELF", "a program")]


def _refuse_binary(path: Path, head: bytes) -> None:
    """A DataError for a file that is not text at all (a picture or program renamed .csv)."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            raise DataError("file.binary", file=path.name, kind=kind)
    control = sum(1 for byte in head if byte < 32 and byte not in b"\t\n\r\f\v\x1a")
    if head and control > max(2, len(head) // 100):
        raise DataError("file.binary", file=path.name, kind="something other than text")


def _decodes(path: Path, head: bytes, encoding: str, thorough: bool) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        if not thorough:
            decoder.decode(head, final=len(head) < HEAD_BYTES)
            return True
        with path.open("rb") as file:
            while chunk := file.read(2**20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        return True
    except UnicodeDecodeError:
        return False


def read_head(path: Path, size: int) -> bytes:
    try:
        with path.open("rb") as file:
            return file.read(size)
    except OSError as error:  # no permission, or locked by Excel on Windows
        raise DataError("file.cannot_open", file=path.name, detail=str(error)) from None
