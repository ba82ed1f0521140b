"""Generate Ward's PDQ golden data with Meta's reference.

1. Derives benign test images (every format and colour mode Ward decodes, odd sizes, an
   EXIF-rotated photo) from the ThreatExchange bridge photo into testdata/pdq/generated/.
2. Hashes every image under testdata/ with the reference pipeline that HMA and
   python-threatexchange run: Pillow decodes and converts to RGB, then the `pdqhash` binding
   (Meta's C++ core on the full-resolution image) computes the hash, quality and the eight
   dihedral hashes. Writes testdata/pdq/goldens.csv.

Run from the repository root through testdata/pdq/regenerate.sh (pinned versions in
requirements.txt).
"""

import csv
import io
import pathlib
import struct
import zlib

import numpy as np
import pdqhash
from PIL import Image, ImageOps

ROOT = pathlib.Path("testdata")
GENERATED = ROOT / "pdq" / "generated"
BRIDGE = ROOT / "threatexchange" / "pdq" / "data" / "bridge-mods" / "aaa-orig.jpg"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"}


def bits_to_hex(vector) -> str:
    return "%064x" % int("".join(str(int(b)) for b in vector), 2)


def write_png_rgb16(path: pathlib.Path, rgb16: np.ndarray) -> None:
    """Pillow cannot save 16-bit RGB PNGs, so write one by hand."""
    height, width, _ = rgb16.shape
    raw = b"".join(b"\x00" + rgb16[y].astype(">u2").tobytes() for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    )


def generate() -> None:
    GENERATED.mkdir(parents=True, exist_ok=True)
    bridge = Image.open(BRIDGE).convert("RGB")
    small = bridge.resize((400, 251), Image.Resampling.LANCZOS)
    out = lambda name: GENERATED / name  # noqa: E731

    # JPEG variants.
    small.convert("L").save(out("grey.jpg"), quality=90)
    small.save(out("progressive.jpg"), quality=85, progressive=True)
    small.save(out("subsampling-444.jpg"), quality=92, subsampling=0)
    small.save(out("subsampling-422.jpg"), quality=92, subsampling=1)
    small.convert("CMYK").save(out("cmyk.jpg"), quality=90)
    # EXIF orientation 6 (rotate 90 clockwise to view): stored sideways.
    exif = Image.Exif()
    exif[0x0112] = 6
    small.transpose(Image.Transpose.ROTATE_90).save(out("exif-orientation-6.jpg"), quality=90, exif=exif)

    # PNG colour types and depths.
    small.save(out("rgb.png"))
    small.convert("RGBA").save(out("rgba.png"))
    small.convert("L").save(out("grey.png"))
    small.convert("LA").save(out("grey-alpha.png"))
    small.convert("1").save(out("bilevel.png"))
    small.convert("P", palette=Image.Palette.ADAPTIVE, colors=200).save(out("palette.png"))
    paletted = small.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    paletted.save(out("palette-4bit.png"), bits=4)
    paletted.save(out("palette-transparent.png"), transparency=3)
    grey16 = (np.asarray(small.convert("L")).astype(np.uint16) * 257)
    Image.fromarray((grey16 // 300).astype(np.uint16)).save(out("grey16-low.png"))
    write_png_rgb16(out("rgb16.png"), np.asarray(small).astype(np.uint16) * 257 + 100)

    # GIF, BMP, TIFF, WebP.
    small.convert("P", palette=Image.Palette.ADAPTIVE, colors=128).save(out("palette.gif"))
    small.convert("P", palette=Image.Palette.ADAPTIVE, colors=64).save(out("transparent.gif"), transparency=0)
    small.save(out("rgb.bmp"))
    small.convert("P", palette=Image.Palette.ADAPTIVE, colors=256).save(out("palette.bmp"))
    small.convert("L").save(out("grey.bmp"))
    small.save(out("rgb.tiff"))
    small.save(out("rgb-lzw.tiff"), compression="tiff_lzw")
    small.convert("L").save(out("grey.tiff"))
    small.save(out("lossless.webp"), lossless=True)
    small.save(out("lossy.webp"), quality=80)
    small.convert("RGBA").save(out("alpha.webp"), quality=80)

    # Sizes at the edges of the algorithm.
    for width, height in [(64, 64), (5, 5), (4, 100), (100, 4), (7, 600), (2000, 9), (129, 1000)]:
        bridge.resize((width, height), Image.Resampling.BILINEAR).save(out(f"size-{width}x{height}.png"))
    # A 24 MP photo-like image, to cover the largest windows (JPEG keeps the file small).
    bridge.resize((6000, 4000), Image.Resampling.BICUBIC).save(out("large-6000x4000.jpg"), quality=60)


def reference_hashes(path: pathlib.Path):
    image = Image.open(path)
    rgb = np.asarray(image.convert("RGB"))
    vector, quality = pdqhash.compute(rgb)
    dihedral, dihedral_quality = pdqhash.compute_dihedral(rgb)
    assert quality == dihedral_quality
    row = {
        "path": path.as_posix(),
        "pdq": bits_to_hex(vector),
        "quality": quality,
        "dihedral": " ".join(bits_to_hex(v) for v in dihedral),
        "oriented_pdq": "",
    }
    # The hash of the picture turned upright by its EXIF orientation (ward --exif-orient).
    oriented = ImageOps.exif_transpose(image)
    if oriented.size != image.size or image.getexif().get(0x0112, 1) not in (1, None):
        oriented_vector, _ = pdqhash.compute(np.asarray(oriented.convert("RGB")))
        row["oriented_pdq"] = bits_to_hex(oriented_vector)
    return row


def main() -> None:
    generate()
    paths = sorted(
        p
        for base in [ROOT / "threatexchange", ROOT / "pdq" / "generated"]
        for p in base.rglob("*")
        if p.suffix.lower() in IMAGE_SUFFIXES
    )
    with open(ROOT / "pdq" / "goldens.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["path", "pdq", "quality", "dihedral", "oriented_pdq"])
        writer.writeheader()
        for path in paths:
            writer.writerow(reference_hashes(path))
    print(f"wrote {len(paths)} goldens")


if __name__ == "__main__":
    main()
