"""The image doctor: each problem an engineer would look for in a folder of pictures is found, counted, shown
with example pictures, and said in a sentence with what to do."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from engine.images.checks import check_pictures, near_pairs, usable
from engine.images.collect import read_image_set
from tests.engine.test_image_data import malformed, sorted_folder


def photo(seed: int, size=(96, 96), gray: bool = False) -> Image.Image:
    """A picture with structure (smooth blobs), so that resized copies keep their perceptual hash."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (6, 6, 1 if gray else 3), dtype=np.uint8)
    image = Image.fromarray(small.squeeze(-1) if gray else small).resize(size, Image.Resampling.BICUBIC)
    return image


def folder_of(root: Path, counts: dict[str, int], start: int = 0) -> Path:
    seed = start
    for category, count in counts.items():
        (root / category).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            photo(seed).save(root / category / f"{category}_{i}.png")
            seed += 1
    return root


def findings_of(root: Path, held_out: Path | None = None) -> dict:
    findings, _ = check_pictures(read_image_set(root), read_image_set(held_out) if held_out else None)
    return {finding.code.removeprefix("doctor.images."): finding for finding in findings}


def test_a_clean_set_is_all_good(tmp_path):
    found = findings_of(folder_of(tmp_path / "d", {"a": 12, "b": 12}))
    assert set(found) == {"summary", "all_good", "enlarged"}
    assert "24" in found["summary"].message and "2 categories" in found["summary"].message


def test_exact_and_near_copies_are_found_and_said_with_examples(tmp_path):
    root = folder_of(tmp_path / "d", {"a": 12, "b": 12})
    source = root / "a" / "a_0.png"
    (root / "b" / "copy.png").write_bytes(source.read_bytes())  # the same file filed under another category
    Image.open(root / "a" / "a_1.png").resize((80, 80)).save(root / "a" / "smaller.jpg", quality=90)
    found = findings_of(root)
    assert found["duplicates"].count == 1 and found["duplicates"].values["conflicting"] == 1
    assert "a_0.png" in found["duplicates"].examples[0] and "copy.png" in found["duplicates"].examples[0]
    assert found["near_duplicates"].count >= 1
    assert any("smaller.jpg" in example for example in found["near_duplicates"].examples)


def test_evaluation_pictures_that_are_training_pictures_are_leakage(tmp_path):
    train = folder_of(tmp_path / "train", {"a": 12, "b": 12})
    held = folder_of(tmp_path / "eval", {"a": 3, "b": 3}, start=100)
    (held / "a" / "leak.png").write_bytes((train / "a" / "a_2.png").read_bytes())
    Image.open(train / "b" / "b_3.png").resize((90, 90)).save(held / "b" / "near_leak.png")
    leakage = findings_of(train, held)["leakage"]
    assert leakage.count == 2 and leakage.values["exact"] == 1 and leakage.severity == "warning"


def test_small_mixed_gray_blank_rare_and_uneven_pictures_are_each_found(tmp_path):
    root = folder_of(tmp_path / "d", {"common": 60, "rare": 4})
    photo(1, (20, 20)).save(root / "common" / "tiny.png")
    photo(2, (300, 60)).save(root / "common" / "panorama.png")
    photo(3, gray=True).save(root / "common" / "gray.png")
    Image.new("RGB", (96, 96), (128, 128, 128)).save(root / "common" / "blank.png")
    found = findings_of(root)
    assert found["too_small"].examples == ["d/common/tiny.png"]
    assert found["mixed_sizes"].examples == ["d/common/panorama.png"] and "300 x 60" in found["mixed_sizes"].message
    assert found["gray_and_colour"].count == 2  # the gray one and the blank one; said of the fewer kind
    assert [e for e in found["blank"].examples] == ["d/common/blank.png"]
    assert found["few_in_category"].examples == ["rare (4)"]
    assert "weighs the rare categories up" in found["uneven"].message


def test_one_category_is_an_error(tmp_path):
    assert findings_of(folder_of(tmp_path / "d", {"only": 12}))["one_category"].severity == "error"


def test_near_pairs_finds_every_pair_within_four_bits_without_comparing_all():
    rng = np.random.default_rng(0)
    hashes = [int(value) for value in rng.integers(0, 2**63, 300, dtype=np.int64)]
    hashes.append(hashes[5] ^ 0b1011)  # three bits from #5
    hashes.append(hashes[9] ^ (0b11111 << 40))  # five bits from #9: not near
    assert near_pairs(hashes) == [(5, 300)]
    assert near_pairs([hashes[300]], hashes[:10]) == [(0, 5)]


def test_malformed_pictures_in_a_folder_leave_the_rest_to_train(tmp_path):
    from engine.images.checks import check_pictures, usable

    root = sorted_folder(tmp_path / "photos", each=3)
    expected = malformed(root / "cats")
    data = read_image_set(root)
    findings, looked = check_pictures(data)
    unreadable = next(f for f in findings if f.code == "doctor.images.unreadable")
    assert unreadable.count == len(expected)
    kept = usable(looked)
    assert len(kept) == 6 and {e.labels[0] for e in kept} == {"cats", "dogs"}


