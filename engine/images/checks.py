"""The data doctor for pictures: what an engineer would look at before training an image classifier, each with
how many pictures it concerns, a few of them (the window shows their thumbnails) and what to do about it.

Every picture is decoded once (several at a time: decoding releases Python's lock), and kept as a few
numbers: its size, whether it is gray, how much it varies, a hash of its bytes (exact copies) and a
perceptual hash (near copies: the same picture resized, re-saved or slightly changed). Torch-free.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from engine.data.doctor import Finding
from engine.data.errors import DataError
from engine.images.collect import Example, ImageSet
from engine.images.pictures import read_picture, thumbnail
from engine.protocol import MESSAGES

EXAMPLES = 6  # pictures shown per finding
#: How a finding names a pair of pictures: exact copies "a = b", near copies "a ~ b".
PAIR = re.compile(r" [=~] ")
#: Perceptual hashes this many bits apart (of 64) or fewer: the same picture, resized, re-saved or retouched.
NEAR = 4
#: A picture whose shorter side is under this many pixels holds too little to learn from.
TOO_SMALL = 32
#: Gray levels varying less than this (standard deviation, of 255): a nearly blank picture.
BLANK_SPREAD = 3.0
#: The longer side over the shorter beyond which a picture is "very wide or tall".
WIDE = 2.0
#: Fewer pictures than this in a category: too few to learn it (a few dozen is the usual minimum).
MIN_PER_CATEGORY = 10
#: The largest category this many times the smallest: training weighs the rare ones up.
UNEVEN = 5


@dataclass
class Looked:
    """What reading one picture found; `problem` is the sentence when it could not be read."""

    example: Example
    problem: str = ""
    width: int = 0
    height: int = 0
    gray: bool = False
    spread: float = 0.0
    digest: str = ""
    phash: int = 0


def look_at(example: Example) -> Looked:
    import imagehash

    try:
        picture = read_picture(example.path, example.shown)
    except DataError as error:
        return Looked(example, str(error))
    except Exception as error:  # noqa: BLE001 - a decoder's own failure is still one picture left out, said
        return Looked(example, str(DataError("image.unreadable", file=example.shown, reason=f"{type(error).__name__}: {error}")))
    small = thumbnail(picture)
    with open(example.path, "rb") as handle:
        digest = hashlib.blake2b(handle.read(), digest_size=16).hexdigest()
    phash = int(str(imagehash.phash(picture.image)), 16)
    return Looked(example, "", picture.width, picture.height, picture.gray, float(small.std()), digest, phash)


def look_at_all(examples: list[Example], progress=None) -> list[Looked]:
    workers = min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(workers) as pool:
        looked = []
        for index, result in enumerate(pool.map(look_at, examples, chunksize=16)):
            looked.append(result)
            if progress is not None and index % 200 == 0:
                progress(index / max(len(examples), 1))
    return looked


def _finding(code: str, count: int, examples: list[str], fix: str = "", **values) -> Finding:
    declared = MESSAGES[code]
    return Finding(code, str(declared.level), count, examples[:EXAMPLES], declared.format(count=count, **values),
                   fix, "", values)


def _shown(items: list[Looked]) -> list[str]:
    return [item.example.shown for item in items]


def near_pairs(hashes: list[int], others: list[int] | None = None) -> list[tuple[int, int]]:
    """Pairs (i, j) whose hashes differ in at most NEAR bits: within `hashes` (i < j), or between `hashes` and
    `others`. Cut into NEAR + 1 bands, two hashes that close agree on at least one band whole, so only
    pictures sharing a band are compared (no comparison of every pair)."""
    bands = NEAR + 1
    width = -(-64 // bands)
    found: set[tuple[int, int]] = set()
    left, right = hashes, hashes if others is None else others
    for band in range(bands):
        shift, mask = band * width, (1 << width) - 1
        buckets: dict[int, list[int]] = defaultdict(list)
        for j, value in enumerate(right):
            buckets[(value >> shift) & mask].append(j)
        for i, value in enumerate(left):
            for j in buckets.get((value >> shift) & mask, ()):
                if (others is None and j <= i) or (i, j) in found:
                    continue
                if bin(value ^ right[j]).count("1") <= NEAR:
                    found.add((i, j))
    return sorted(found)


def check_pictures(data: ImageSet, held_out: ImageSet | None = None, input_size: int = 224, progress=None) -> tuple[list[Finding], list[Looked]]:
    """The findings on `data` (and on `held_out`, the evaluation pictures, for leakage), and what was read of
    each training picture."""
    looked = look_at_all(data.examples, progress)
    good = [item for item in looked if not item.problem]
    bad = [item for item in looked if item.problem]
    findings = []
    counts = Counter(label for item in good for label in item.example.labels)
    findings.append(_finding(
        "doctor.images.summary", len(good), [], categories=len(counts), format=data.format,
        sizes=_size_words(good),
    ))
    if data.left_out:
        findings.append(_finding("doctor.images.left_out", len(data.left_out), [shown for shown, _ in data.left_out],
                                 first=data.left_out[0][1]))
    if bad:
        findings.append(_finding("doctor.images.unreadable", len(bad), _shown(bad), first=bad[0].problem))

    # Exact copies (the same bytes) and near copies (the same picture resized, re-saved, retouched).
    by_digest: dict[str, list[Looked]] = defaultdict(list)
    for item in good:
        by_digest[item.digest].append(item)
    copies = [group for group in by_digest.values() if len(group) > 1]
    if copies:
        conflicting = [g for g in copies if len({tuple(sorted(i.example.labels)) for i in g}) > 1]
        findings.append(_finding(
            "doctor.images.duplicates", sum(len(g) - 1 for g in copies), [f"{g[0].example.shown} = {g[1].example.shown}" for g in copies],
            conflicting=len(conflicting),
        ))
    firsts = [group[0] for group in by_digest.values()]
    near = [(firsts[i], firsts[j]) for i, j in near_pairs([item.phash for item in firsts])]
    if near:
        findings.append(_finding("doctor.images.near_duplicates", len(near), [f"{a.example.shown} ~ {b.example.shown}" for a, b in near]))
    if held_out is not None and held_out.examples:
        checked = [item for item in look_at_all(held_out.examples) if not item.problem]
        digests = {item.digest for item in good}
        same = [item for item in checked if item.digest in digests]
        close = {i for i, _ in near_pairs([item.phash for item in checked], [item.phash for item in good])}
        leaked = [item for i, item in enumerate(checked) if i in close or item.digest in digests]
        if leaked:
            findings.append(_finding("doctor.images.leakage", len(leaked), _shown(leaked), exact=len(same), pictures=len(checked)))

    small = [item for item in good if min(item.width, item.height) < TOO_SMALL]
    if small:
        findings.append(_finding("doctor.images.too_small", len(small), _shown(small), pixels=TOO_SMALL, size=input_size))
    enlarged = [item for item in good if TOO_SMALL <= min(item.width, item.height) < input_size // 2]
    if enlarged:
        findings.append(_finding("doctor.images.enlarged", len(enlarged), _shown(enlarged), size=input_size))
    if good:
        ratios = [max(i.width, i.height) / max(min(i.width, i.height), 1) for i in good]
        wide = [item for item, ratio in zip(good, ratios) if ratio > WIDE]
        areas = [i.width * i.height for i in good]
        if wide or max(areas) > 16 * min(areas):
            findings.append(_finding("doctor.images.mixed_sizes", len(wide), _shown(wide) or _shown(good[:1]),
                                     smallest=_size_of(min(good, key=lambda i: i.width * i.height)),
                                     largest=_size_of(max(good, key=lambda i: i.width * i.height)), size=input_size))
    grays = [item for item in good if item.gray]
    if grays and len(grays) < len(good):
        fewer = grays if len(grays) <= len(good) / 2 else [item for item in good if not item.gray]
        findings.append(_finding("doctor.images.gray_and_colour", len(fewer), _shown(fewer), gray=len(grays), colour=len(good) - len(grays)))
    blank = [item for item in good if item.spread < BLANK_SPREAD]
    if blank:
        findings.append(_finding("doctor.images.blank", len(blank), _shown(blank)))

    if counts:
        rare = {label: n for label, n in counts.items() if n < MIN_PER_CATEGORY}
        if rare:
            findings.append(_finding("doctor.images.few_in_category", len(rare), [f"{k} ({n})" for k, n in rare.items()],
                                     least=MIN_PER_CATEGORY))
        if len(counts) == 1:
            findings.append(_finding("doctor.images.one_category", 1, list(counts)))
        elif max(counts.values()) >= UNEVEN * min(counts.values()):
            most, least = max(counts, key=counts.get), min(counts, key=counts.get)
            findings.append(_finding("doctor.images.uneven", len(counts), [f"{most} ({counts[most]})", f"{least} ({counts[least]})"],
                                     most=most, most_count=counts[most], least=least, least_count=counts[least]))
    if not any(f.severity in ("advice", "warning", "error") for f in findings):
        findings.append(_finding("doctor.images.all_good", len(good), []))
    order = {"error": 0, "warning": 1, "advice": 2, "info": 3}
    findings.sort(key=lambda finding: order.get(finding.severity, 4))
    files = {e.shown: e.path for e in data.examples + (held_out.examples if held_out is not None else [])}
    for finding in findings:  # the files of its example pictures (a pair's both), for the window's thumbnails
        names = [name for example in finding.examples for name in PAIR.split(example)]
        finding.values["files"] = [files[name] for name in names if name in files]
    return findings, looked


def _size_of(item: Looked) -> str:
    return f"{item.width} x {item.height}"


def _size_words(items: list[Looked]) -> str:
    if not items:
        return "none readable"
    sizes = Counter((i.width, i.height) for i in items)
    if len(sizes) == 1:
        (w, h), = sizes
        return f"all {w} x {h} pixels"
    return f"from {_size_of(min(items, key=lambda i: i.width * i.height))} to {_size_of(max(items, key=lambda i: i.width * i.height))} pixels"


def usable(looked: list[Looked]) -> list[Example]:
    """The pictures training can use: readable ones, each file once (exact copies with the same categories
    are one picture)."""
    seen: set[tuple[str, tuple[str, ...]]] = set()
    kept = []
    for item in looked:
        key = (item.digest, tuple(sorted(item.example.labels)))
        if item.problem or key in seen or not item.example.labels:
            continue
        seen.add(key)
        kept.append(item.example)
    return kept


def size_statistics(looked: list[Looked]) -> dict[str, float]:
    sides = np.array([min(i.width, i.height) for i in looked if not i.problem] or [0])
    return {"median_side": float(np.median(sides)), "smallest_side": float(sides.min())}
