"""Make the benchmark's images: a benign photo at 0.3, 2 and 12 megapixels, as JPEG and PNG.

Usage: python make_bench_images.py SOURCE_IMAGE OUTPUT_DIR

The source (by default the ThreatExchange bridge photo, 1600x1004) is resized with Lanczos
to sizes near its own 1.6:1 aspect ratio and saved as JPEG quality 90 (Pillow's default
4:2:0 subsampling, baseline) and as PNG (Pillow's default compression). Prints the paths.
"""

import pathlib
import sys

from PIL import Image

# (name, width, height): 0.3 MP, 2 MP and 12 MP.
SIZES = [
    ("0.3mp", 692, 434),
    ("2mp", 1786, 1120),
    ("12mp", 4375, 2743),
]


def main() -> int:
    source, out_dir = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    out_dir.mkdir(parents=True, exist_ok=True)
    with Image.open(source) as image:
        rgb = image.convert("RGB")
    for name, width, height in SIZES:
        resized = rgb.resize((width, height), Image.Resampling.LANCZOS)
        for suffix, options in ((".jpg", {"quality": 90}), (".png", {})):
            path = out_dir / f"{name}{suffix}"
            resized.save(path, **options)
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
