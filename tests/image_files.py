"""Picture files made in the tests: encoded images and PNGs whose header lies about their size."""
import io
import struct
import zlib

from PIL import Image


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A 1x1 PNG whose header claims another size: a decompression bomb as far as the header goes."""
    data = bytearray(encoded(Image.new("L", (1, 1)), "PNG"))
    ihdr = data[12:29]
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)))
    return bytes(data)
