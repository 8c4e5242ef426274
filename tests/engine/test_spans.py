"""Tagged text read from every format people bring, into one representation; bad files give one sentence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.data.errors import DataError
from engine.data.spans import Document, Span, read_tagged, without_overlaps
from engine.data.spans.model import widen_to_words

NCBI = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "ncbi-disease"
needs_ncbi = pytest.mark.skipif(not (NCBI / "test.conll.tsv").exists(), reason="the NCBI disease corpus is not in ../shared/data")


def _stripped_spans(documents: list[Document]) -> list[tuple[int, int]]:
    """Each span as positions in the documents' text with all white space removed, one document after the
    other: the same for a corpus written as words per line and as running text."""
    spans, offset = [], 0
    for document in documents:
        before = [0]
        for char in document.text:
            before.append(before[-1] + (not char.isspace()))
        for span in document.spans:
            span = widen_to_words(document.text, span)
            spans.append((offset + before[span.start], offset + before[span.end]))
        offset += before[-1]
    return spans


@needs_ncbi
@pytest.mark.parametrize("split", ["train", "devel", "test"])
def test_conll_and_brat_copies_of_ncbi_disease_read_to_the_same_spans(split):
    conll = read_tagged(NCBI / f"{split}.conll.tsv")
    brat = read_tagged(NCBI / "standoff.tar.gz")
    assert (conll.format, conll.scheme, brat.format) == ("conll", "BIO", "brat")
    standoff = [d for d in brat.documents if d.id.startswith(f"{split}/")]
    assert len({d.id for d in standoff}) == {"train": 593, "devel": 100, "test": 100}[split]
    assert _stripped_spans(conll.documents) == _stripped_spans(standoff)
    assert len(_stripped_spans(conll.documents)) == {"train": 5145, "devel": 787, "test": 960}[split]


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


TEXT = "Aspirin eases headache in Paris."
EXPECTED = [Span(0, 7, "Drug"), Span(14, 22, "Symptom"), Span(26, 31, "Place")]

GOOD = {
    "bio.tsv": "Aspirin\tB-Drug\neases\tO\nheadache\tB-Symptom\nin\tO\nParis\tB-Place\n.\tO\n",
    "conll2003.txt": "-DOCSTART- -X- O O\n\nAspirin NNP B-NP B-Drug\neases VBZ B-VP O\nheadache NN B-NP B-Symptom\n"
    "in IN B-PP O\nParis NNP B-NP B-Place\n. . O O\n",
    "bioes.tsv": "Aspirin\tS-Drug\neases\tO\nheadache\tS-Symptom\nin\tO\nParis\tS-Place\n.\tO\n",
    "iob1.tsv": "Aspirin\tI-Drug\neases\tO\nheadache\tI-Symptom\nin\tO\nParis\tI-Place\n.\tO\n",
    "doccano.jsonl": json.dumps({"text": TEXT, "label": [[0, 7, "Drug"], [14, 22, "Symptom"], [26, 31, "Place"]]}),
    "doccano_new.jsonl": json.dumps({"text": TEXT, "entities": [
        {"start_offset": 0, "end_offset": 7, "label": "Drug"}, {"start_offset": 14, "end_offset": 22, "label": "Symptom"},
        {"start_offset": 26, "end_offset": 31, "label": "Place"}]}),
    "prodigy.jsonl": json.dumps({"text": TEXT, "answer": "accept", "spans": [
        {"start": 0, "end": 7, "label": "Drug"}, {"start": 14, "end": 22, "label": "Symptom"},
        {"start": 26, "end": 31, "label": "Place"}]}) + "\n" + json.dumps({"text": "Rejected.", "answer": "reject", "spans": []}),
    "label_studio.json": json.dumps([{"id": 1, "data": {"text": TEXT}, "annotations": [{"result": [
        {"from_name": "label", "to_name": "text", "type": "labels", "value": {"start": s.start, "end": s.end, "text": TEXT[s.start:s.end], "labels": [s.type]}}
        for s in EXPECTED]}]}]),
    "spacy.json": json.dumps([[TEXT, {"entities": [[0, 7, "Drug"], [14, 22, "Symptom"], [26, 31, "Place"]]}]]),
    "pubtator.txt": "123|t|Aspirin eases headache\n123|a|in Paris.\n123\t0\t7\tAspirin\tDrug\tD001241\n"
    "123\t14\t22\theadache\tSymptom\tD006261\n123\t26\t31\tParis\tPlace\t-\n123\tCID\tD001241\tD006261\n",
    "bioc.xml": f"""<?xml version="1.0" encoding="UTF-8"?><collection><source>test</source><document><id>123</id>
<passage><offset>0</offset><text>{TEXT}</text>""" + "".join(
        f'<annotation id="{i}"><infon key="type">{s.type}</infon><location offset="{s.start}" length="{s.end - s.start}"/>'
        f"<text>{TEXT[s.start:s.end]}</text></annotation>" for i, s in enumerate(EXPECTED)) + "</passage></document></collection>",
    "bioc.json": json.dumps({"source": "test", "documents": [{"id": "123", "passages": [{"offset": 0, "text": TEXT, "annotations": [
        {"id": str(i), "infons": {"type": s.type}, "locations": [{"offset": s.start, "length": s.end - s.start}], "text": TEXT[s.start:s.end]}
        for i, s in enumerate(EXPECTED)]}]}]}),
}


@pytest.mark.parametrize("name", sorted(GOOD))
def test_every_format_reads_to_the_same_spans(tmp_path, name):
    data = read_tagged(write(tmp_path, name, GOOD[name]))
    document = data.documents[0]
    assert [document.covered(s) for s in document.spans] == ["Aspirin", "headache", "Paris"]
    assert [s.type for s in document.spans] == ["Drug", "Symptom", "Place"]
    assert len(data.documents) == 1


def test_brat_folder_and_archive(tmp_path):
    import tarfile

    folder = tmp_path / "corpus"
    write(folder, "a.txt", TEXT)
    write(folder, "a.ann", "T1\tDrug 0 7\tAspirin\nT2\tSymptom 14 22\theadache\nT3\tPlace 26 31\tParis\n#1\tAnnotatorNotes T1\tchecked\n")
    assert read_tagged(folder).documents[0].spans == EXPECTED
    archive = tmp_path / "corpus.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="corpus")
    document = read_tagged(archive).documents[0]
    assert (document.id, document.spans) == ("corpus/a", EXPECTED)


def test_nested_spans_keep_the_longest():
    kept, dropped = without_overlaps([Span(0, 20, "Disease"), Span(0, 6, "Gene"), Span(25, 30, "Disease")])
    assert kept == [Span(0, 20, "Disease"), Span(25, 30, "Disease")]
    assert dropped == [Span(0, 6, "Gene")]


LATIN1 = "Caf\xe9\tB-Place\n".encode("latin-1")

BAD = {
    "missing.tsv": (None, "does not exist"),
    "empty.tsv": ("", "is empty"),
    "blank.tsv": ("\n\n  \n", "is empty"),
    "no_tag.tsv": ("Aspirin\tB-Drug\neases\n", "Line 2 of no_tag.tsv has a word but no tag"),
    "bad_tag.tsv": ("Aspirin\tB-Drug\neases\tX-\n", "Line 2 of bad_tag.tsv has the tag 'X-'"),
    "mixed.tsv": ("Aspirin\tS-Drug\neases\tO\nParis\tU-Place\n", "mixes two ways of writing tags ('S-Drug' at line 1, 'U-Place' at line 3)"),
    "bare_and_prefixed.tsv": ("Aspirin\tDrug\neases\tO\nParis\tB-Place\n", "mixes two ways of writing tags"),
    "latin1.tsv": (LATIN1, "is not saved as UTF-8"),
    "utf16_no_mark.jsonl": (json.dumps({"text": "a"}).encode("utf-16-le"), "is not saved as UTF-8"),
    "outside.jsonl": (json.dumps({"text": "short", "label": [[0, 40, "Drug"]]}), "Row 1 of outside.jsonl marks characters 0 to 40, but the text has only 5"),
    "backwards.jsonl": (json.dumps({"text": "Aspirin eases", "label": [[7, 0, "Drug"]]}), "has a marked span from 7 to 0"),
    "text_offsets.jsonl": (json.dumps({"text": "Aspirin", "label": [["0", "7", "Drug"]]}), "a span needs two whole numbers"),
    "no_type.jsonl": (json.dumps({"text": "Aspirin", "label": [[0, 7, ""]]}), "with no type"),
    "no_text.jsonl": (json.dumps({"sentence_id": 3, "label": []}), "Row 1 of no_text.jsonl has no text to tag"),
    "broken_line.jsonl": ('{"text": "a", "label": []}\n{"text": \n', "Line 2 of broken_line.jsonl is not a valid JSON object"),
    "empty_texts.jsonl": ('{"text": "", "label": []}\n{"text": "  ", "label": []}\n', "holds no texts with words in them"),
    "mismatch.json": (json.dumps([{"data": {"text": TEXT}, "annotations": [{"result": [{"value": {"start": 0, "end": 7, "text": "Ibuprofen", "labels": ["Drug"]}}]}]}]),
                      "marks characters 0 to 7 as 'Ibuprofen', but the text there reads 'Aspirin'"),
    "bad.xml": ("<collection><document><id>1</id><passage>", "is not valid BioC XML"),
    "bioc_offset.xml": ("<collection><document><id>1</id><passage><offset>zero</offset><text>a</text></passage></document></collection>",
                        "is not valid BioC: Document 1 of bioc_offset.xml has 'zero' where a passage's offset should be"),
    "pubtator_shifted.txt": ("1|t|Aspirin eases headache\n1|a|Really.\n1\t1\t8\tAspirin\tDrug\t-\n", "as 'Aspirin', but the text there reads 'spirin'"),
    "table.csv": ("text,label\nhello,greeting\n", "does not look like tagged text"),
    "archive.zip": (b"PK\x03\x04rest", "is not a text file"),
    "damaged.tar.gz": (b"\x1f\x8b\x08\x00broken", "could not be read; it may be damaged"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_tagged_file_gives_one_clear_sentence(tmp_path, name):
    content, words = BAD[name]
    path = tmp_path / name if content is None else write(tmp_path, name, content)
    with pytest.raises(DataError) as raised:
        read_tagged(path)
    sentence = str(raised.value)
    assert words in sentence
    assert "\n" not in sentence and "Traceback" not in sentence


BAD_BRAT = {
    "offset beyond the text": ({"a.txt": "Short.", "a.ann": "T1\tDrug 0 40\tShort.\n"}, "Line 1 of a.ann marks characters 0 to 40, but the text has only 6"),
    "shifted offsets": ({"a.txt": TEXT, "a.ann": "T1\tDrug 1 8\tAspirin\n"}, "as 'Aspirin', but the text there reads 'spirin'"),
    "malformed line": ({"a.txt": TEXT, "a.ann": "T1\tDrug zero seven\tAspirin\n"}, "Line 1 of a.ann cannot be read as a brat annotation"),
    "marks without text": ({"a.ann": "T1\tDrug 0 7\tAspirin\n"}, "a.ann has no text file a.txt beside it"),
    "no marks at all": ({"a.txt": TEXT}, "holds no .ann files"),
    "text in another encoding": ({"a.txt": "Caf\xe9 au lait".encode("latin-1"), "a.ann": ""}, "a.txt is not saved as UTF-8"),
}


@pytest.mark.parametrize("case", sorted(BAD_BRAT))
def test_a_bad_brat_folder_gives_one_clear_sentence(tmp_path, case):
    files, words = BAD_BRAT[case]
    for name, content in files.items():
        write(tmp_path / "corpus", name, content)
    (tmp_path / "corpus").mkdir(exist_ok=True)
    with pytest.raises(DataError, match=words.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        read_tagged(tmp_path / "corpus")


def test_saved_results_read_back_to_the_same_spans(tmp_path):
    import csv

    from engine.data.spans.model import ScoredSpan
    from engine.data.spans.write import write_brat, write_csv, write_jsonl

    documents = [
        Document("abstract/1", TEXT, [ScoredSpan(s.start, s.end, s.type, 0.9) for s in EXPECTED]),
        Document("abstract/1", "=SUM(A1) is no disease.\nLine two.", [Span(0, 8, "Formula")]),
    ]
    write_jsonl(documents, tmp_path / "out.jsonl")
    write_brat(documents, tmp_path / "brat")
    write_csv(documents, tmp_path / "out.csv")
    for path in (tmp_path / "out.jsonl", tmp_path / "brat"):
        read = read_tagged(path).documents
        assert [(d.text, [(s.start, s.end, s.type) for s in d.spans]) for d in read] == [
            (d.text, [(s.start, s.end, s.type) for s in d.spans]) for d in documents
        ]
    rows = list(csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8-sig")))
    assert rows[0] == {"document": "abstract/1", "start": "0", "end": "7", "type": "Drug", "text": "Aspirin", "confidence": "0.9"}
    assert rows[-1]["text"] == "'=SUM(A1)"  # never run as a formula
