"""Writes this demo set: 64 x 64 patches cut from three of scikit-image's sample textures (brick, grass and
gravel, each CC0), every fourth patch of each held out for evaluation. Run from the repository root:
`python resources/demo/images/make.py` (needs scikit-image)."""

from pathlib import Path

from PIL import Image
from skimage import data

HERE = Path(__file__).resolve().parent
SIDE, STRIDE = 64, 56

for name in ("brick", "grass", "gravel"):
    picture = getattr(data, name)()
    number = 0
    for top in range(0, picture.shape[0] - SIDE + 1, STRIDE):
        for left in range(0, picture.shape[1] - SIDE + 1, STRIDE):
            split = "eval" if number % 4 == 3 else "train"
            folder = HERE / split / name
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(picture[top : top + SIDE, left : left + SIDE]).save(folder / f"{name}_{number:03d}.png", optimize=True)
            number += 1
