"""Pictures in: every format people bring, the ways they sort them into categories, and every malformed
input said in one sentence while the rest of the data still reads."""

from __future__ import annotations

import csv
import io
import json
import os
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.data.errors import DataError
from engine.images.collect import cell_labels, looks_like_images, read_image_set
from engine.images.pictures import read_picture


def colour(seed: int, size=(40, 30)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), "RGB")


def sorted_folder(root: Path, categories=("cats", "dogs"), each: int = 3) -> Path:
    for c, category in enumerate(categories):
        for i in range(each):
            folder = root / category / ("deeper" if i == 2 else "")  # a category's pictures may sit deeper
            folder.mkdir(parents=True, exist_ok=True)
            colour(c * 10 + i).save(folder / f"{category}{i}.png")
    return root


# ---------------------------------------------------------------- formats


def test_every_common_format_reads_as_an_upright_8_bit_colour_picture(tmp_path):
    picture = colour(1, (48, 32))
    for suffix in ("png", "jpg", "bmp", "tiff", "webp", "gif"):
        picture.save(tmp_path / f"p.{suffix}")
        read = read_picture(tmp_path / f"p.{suffix}")
        assert read.image.mode == "RGB" and read.image.size == (48, 32) and (read.width, read.height) == (48, 32)


def test_16_bit_pictures_are_stretched_to_8_bits_and_known_as_gray(tmp_path):
    values = (np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 15)  # 0 .. 61425
    for suffix in ("png", "tiff"):
        Image.fromarray(values).save(tmp_path / f"deep.{suffix}")
        read = read_picture(tmp_path / f"deep.{suffix}")
        array = np.asarray(read.image)
        assert read.gray and array.max() == 255 and array.min() == 0


def test_exif_orientation_is_respected(tmp_path):
    wide = colour(2, (60, 20))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees: shown upright it is tall
    wide.save(tmp_path / "phone.jpg", exif=exif)
    assert read_picture(tmp_path / "phone.jpg").image.size == (20, 60)


def test_gray_pictures_are_told_from_colour_ones(tmp_path):
    Image.fromarray(np.full((30, 30), 90, np.uint8)).save(tmp_path / "gray.png")
    Image.fromarray(np.full((30, 30), 90, np.uint8)).convert("RGB").save(tmp_path / "gray_as_rgb.jpg")
    colour(3).save(tmp_path / "colour.png")
    assert read_picture(tmp_path / "gray.png").gray and read_picture(tmp_path / "gray_as_rgb.jpg").gray
    assert not read_picture(tmp_path / "colour.png").gray


def dicom(path: Path, pixels: np.ndarray | None, photometric: str = "MONOCHROME2") -> Path:
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    dataset.SOPClassUID, dataset.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    dataset.Modality, dataset.PatientName = "US", "Test^Only"
    if pixels is not None:
        dataset.Rows, dataset.Columns = pixels.shape
        dataset.SamplesPerPixel, dataset.PhotometricInterpretation = 1, photometric
        dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit = 16, 12, 11
        dataset.PixelRepresentation = 0
        dataset.PixelData = pixels.astype(np.uint16).tobytes()
    dataset.save_as(path, enforce_file_format=True)
    return path


def test_dicom_files_are_read_as_pictures_the_right_way_round(tmp_path):
    ramp = np.tile(np.arange(0, 4096, 64, dtype=np.uint16), (32, 1))  # dark on the left, bright on the right
    normal = read_picture(dicom(tmp_path / "a.dcm", ramp))
    assert normal.gray and (normal.width, normal.height) == (64, 32)
    row = np.asarray(normal.image)[0, :, 0]
    assert row[0] < 10 and row[-1] > 245
    inverted = np.asarray(read_picture(dicom(tmp_path / "b.dcm", ramp, "MONOCHROME1")).image)[0, :, 0]
    assert inverted[0] > 245 and inverted[-1] < 10  # MONOCHROME1 keeps white for the lowest values
    no_suffix = dicom(tmp_path / "IM0001", ramp)  # DICOM files often have no ending: told by their "DICM" mark
    assert read_picture(no_suffix).width == 64


# ---------------------------------------------------------------- malformed pictures: one sentence each


def _png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b"")


def malformed(folder: Path) -> dict[str, str]:
    """file name -> a word the sentence about it must hold."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notes.png").write_text("this is a text file that claims to be a picture\n")
    jpeg = io.BytesIO()
    colour(5, (200, 200)).save(jpeg, "JPEG")
    (folder / "cut.jpg").write_bytes(jpeg.getvalue()[: len(jpeg.getvalue()) // 3])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "huge.png").write_bytes(_png_header(30000, 30000))
    (folder / "garbled.bmp").write_bytes(b"BM" + os.urandom(60))
    (folder / "fake.webp").write_bytes(b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\0" * 8)
    (folder / "bad.tiff").write_bytes(b"II*\x00" + b"\xff" * 20)
    dicom(folder / "details_only.dcm", None)
    (folder / "not_dicom.dcm").write_bytes(b"\0" * 300)
    return {"notes.png": "not a picture", "cut.jpg": "cut short", "empty.jpg": "empty", "huge.png": "30000",
            "garbled.bmp": "", "fake.webp": "", "bad.tiff": "", "details_only.dcm": "without an image",
            "not_dicom.dcm": ""}


def test_each_malformed_picture_is_one_clear_sentence(tmp_path):
    for name, word in malformed(tmp_path).items():
        with pytest.raises(DataError) as raised:
            read_picture(tmp_path / name)
        sentence = str(raised.value)
        assert name in sentence and "\n" not in sentence and len(sentence) < 400, sentence
        assert word in sentence, sentence


def test_a_one_pixel_picture_reads(tmp_path):
    Image.new("RGB", (1, 1), "red").save(tmp_path / "dot.png")
    assert read_picture(tmp_path / "dot.png").image.size == (1, 1)  # too small is the doctor's finding, not an error


# ---------------------------------------------------------------- how pictures are sorted into categories


def test_a_folder_of_category_folders_nested_deeper_is_read(tmp_path):
    root = sorted_folder(tmp_path / "photos")
    data = read_image_set(root)
    assert data.format == "image folder" and len(data.examples) == 6
    assert data.counts() == {"cats": 3, "dogs": 3} and not data.multi_label
    assert any("deeper" in e.shown for e in data.examples)
    assert looks_like_images(root)


def test_a_folder_holding_one_folder_is_looked_into_and_loose_pictures_are_said(tmp_path):
    sorted_folder(tmp_path / "download" / "dataset")
    colour(9).save(tmp_path / "download" / "dataset" / "loose.png")
    data = read_image_set(tmp_path / "download")
    assert data.label_names == ["cats", "dogs"]
    assert [shown for shown, _ in data.left_out] == ["download/loose.png"]


def test_a_link_looping_back_into_the_folder_is_not_followed_round(tmp_path):
    root = sorted_folder(tmp_path / "photos")
    os.symlink(root, root / "cats" / "loop")
    data = read_image_set(root)
    assert len(data.examples) == 6
    assert any("leads back" in sentence for _, sentence in data.left_out)


def write_table(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_a_table_of_picture_files_with_lists_of_labels_is_several_categories_per_picture(tmp_path):
    for i in range(4):
        colour(i).save(tmp_path / f"img{i}.jpg")
    rows = [{"image": f"img{i}.jpg", "findings": json.dumps(["crack", "moss"][: 1 + i % 2])} for i in range(4)]
    rows.append({"image": "gone.jpg", "findings": '["crack"]'})
    data = read_image_set(write_table(tmp_path / "labels.csv", rows))
    assert data.format == "image table" and data.path_column == "image" and data.label_column == "findings"
    assert data.multi_label and data.counts() == {"crack": 4, "moss": 2}
    assert "gone.jpg" in data.left_out[0][1]
    assert looks_like_images(tmp_path / "labels.csv")


def test_an_excel_sheet_of_picture_files_is_read(tmp_path):
    from openpyxl import Workbook

    for i in range(4):
        colour(i).save(tmp_path / f"x{i}.png")
    book = Workbook()
    book.active.append(["file", "label"])
    for i in range(4):
        book.active.append([f"x{i}.png", "left" if i % 2 else "right"])
    book.save(tmp_path / "sheet.xlsx")
    data = read_image_set(tmp_path / "sheet.xlsx")
    assert data.counts() == {"left": 2, "right": 2} and not data.multi_label


def test_cells_with_several_labels_are_read_as_lists():
    assert cell_labels('["a", "b"]') == ["a", "b"]
    assert cell_labels("a; b") == ["a", "b"] and cell_labels("a|b|a") == ["a", "b"]
    assert cell_labels(3.0) == ["3"] and cell_labels(None) == [] and cell_labels(" one ") == ["one"]


def test_a_zip_of_category_folders_and_a_zip_of_a_table_are_read(tmp_path):
    root = sorted_folder(tmp_path / "photos")
    with zipfile.ZipFile(tmp_path / "photos.zip", "w") as archive:
        for path in root.rglob("*.png"):
            archive.write(path, "photos/" + str(path.relative_to(root)))
    data = read_image_set(tmp_path / "photos.zip")
    assert data.format == "zip of an image folder" and data.counts() == {"cats": 3, "dogs": 3}
    assert looks_like_images(tmp_path / "photos.zip")

    table = write_table(tmp_path / "t.csv", [{"path": f"cats/{p.name}", "label": "cat"} for p in (root / "cats").glob("*.png")])
    with zipfile.ZipFile(tmp_path / "table.zip", "w") as archive:
        archive.write(table, "t.csv")
        for path in (root / "cats").glob("*.png"):
            archive.write(path, f"cats/{path.name}")
    assert read_image_set(tmp_path / "table.zip").format == "zip of an image table"


def test_a_zip_entry_pointing_outside_its_folder_is_refused(tmp_path):
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as archive:
        archive.writestr("../../outside.png", b"x")
        archive.writestr("a/ok.png", b"x")
    with pytest.raises(DataError, match="outside its folder"):
        read_image_set(tmp_path / "evil.zip")


def test_things_that_are_not_pictures_are_not_recognised(tmp_path):
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "a.txt").write_text("hello")
    write_table(tmp_path / "plain.csv", [{"text": "hi", "label": "x"}])
    assert not looks_like_images(tmp_path / "texts") and not looks_like_images(tmp_path / "plain.csv")
    assert not looks_like_images(tmp_path / "missing")
    with pytest.raises(DataError, match="no pictures"):
        read_image_set(tmp_path / "texts")


def _set_level_cases(root: Path) -> dict[str, tuple[Path, str]]:
    """Whole data sets that cannot be read: name -> (path, a word the sentence about it must hold)."""
    (root / "empty").mkdir()
    (root / "texts" / "a").mkdir(parents=True)
    (root / "texts" / "a" / "readme.txt").write_text("notes")
    (root / "damaged.zip").write_bytes(b"PK\x03\x04 not really a zip")
    (root / "nothing.zip").write_bytes(b"")
    (root / "gone.csv").write_text("file,label\nnowhere.png,a\nalso_gone.png,b\n")
    (root / "no_files.csv").write_text("label,notes\na,x\nb,y\n")
    (root / "damaged.xlsx").write_bytes(b"not a workbook")
    return {
        "an empty folder": (root / "empty", "no pictures"),
        "a folder of texts": (root / "texts", "no pictures"),
        "a damaged zip": (root / "damaged.zip", "damaged"),
        "an empty zip": (root / "nothing.zip", "damaged"),
        "a table of missing pictures": (root / "gone.csv", "not there"),
        "a table without a column of files": (root / "no_files.csv", "names picture files"),
        "a damaged Excel sheet": (root / "damaged.xlsx", "Excel"),
    }


def test_each_data_set_that_cannot_be_read_is_one_clear_sentence(tmp_path):
    for case, (path, word) in _set_level_cases(tmp_path).items():
        with pytest.raises(DataError) as raised:
            read_image_set(path)
        sentence = str(raised.value)
        assert path.name in sentence and word in sentence, (case, sentence)
        assert "\n" not in sentence and len(sentence) < 400, (case, sentence)


def test_a_pipe_or_a_dangling_link_named_like_a_picture_is_a_sentence_and_the_rest_reads(tmp_path):
    root = sorted_folder(tmp_path / "photos")
    os.mkfifo(root / "cats" / "pipe.png")  # reading a pipe would wait for ever
    os.symlink(tmp_path / "moved away.png", root / "dogs" / "link.png")
    with pytest.raises(DataError, match="pipe.png is not an ordinary file"):
        read_picture(root / "cats" / "pipe.png")
    with pytest.raises(DataError, match="link.png does not exist"):
        read_picture(root / "dogs" / "link.png")
    readable = [e for e in read_image_set(root).examples if not e.path.endswith(("pipe.png", "link.png"))]
    assert len(readable) == 6
