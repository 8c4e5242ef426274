"""The importers fuzzed: whatever bytes, text or JSON a file holds, importing it for either task ends in rows
or in one DataError sentence, never in another exception. Bounded, so the whole file runs in seconds."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.data.doctor import examine
from engine.data.errors import DataError
from tests.bad_input.test_malformed_files import outcome

FAST = settings(max_examples=int(__import__("os").environ.get("FUZZ_EXAMPLES", 60)), deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
SUFFIXES = [".csv", ".tsv", ".txt", ".json", ".jsonl", ".xlsx", ".parquet"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["text", "label", "instruction", "output", "messages", "conversations", "role", "content",
                         "from", "value", "intents", "x"]), children, max_size=4),
    max_leaves=20,
)


def imported(name: str, content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        for task in ("classify", "chat"):
            said = outcome(path, task)  # raises if anything but a DataError escapes
            assert said and "\n" not in said
            try:  # the data doctor reads the same files: a report, or the same kind of sentence
                report = examine(path, task)
                assert report.findings and all(finding.message for finding in report.findings)
            except DataError as error:
                assert "\n" not in str(error)


@FAST
@given(content=st.binary(max_size=4096), suffix=st.sampled_from(SUFFIXES), magic=st.sampled_from([b"", b"PAR1", b"PK\x03\x04", b"\xff\xfe", b"\xef\xbb\xbf"]))
def test_any_bytes_under_any_name(content, suffix, magic):
    imported(f"data{suffix}", magic + content)


@FAST
@given(content=st.text(alphabet=st.sampled_from(list(',;\t|"\'\n\r ab1é\x00{}[]:')), max_size=400),
       suffix=st.sampled_from([".csv", ".tsv", ".jsonl"]), encoding=st.sampled_from(["utf-8", "utf-16", "cp1252"]))
def test_delimited_looking_text(content, suffix, encoding):
    imported(f"data{suffix}", content.encode(encoding, errors="replace"))


@FAST
@given(value=json_values, lines=st.booleans())
def test_json_of_any_shape(value, lines):
    if lines and isinstance(value, list):
        imported("data.jsonl", "\n".join(json.dumps(item) for item in value).encode())
    else:
        imported("data.json", json.dumps(value).encode())
