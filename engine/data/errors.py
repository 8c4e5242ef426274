"""The one error the data layer raises, and every sentence it can say.

A person who imports a spreadsheet must be told what is wrong with it in words they understand: which
file, which row, which field. So each failure is declared here once, with its plain-language text (as
engine/protocol.py does for run events), and raised as ``DataError(code, **values)``. The code and the
values travel with the exception, so the window can store or translate the event; ``str(error)`` is the
finished sentence.

Row numbers in these sentences count records from 1 in the order they appear in the file (for CSV and
Excel, the first row under the header is row 1); line numbers are the file's own lines.
"""

from __future__ import annotations

from engine.quoting import shown

#: Values that already list several of the file's names (each shortened by ``shown_list``); the rest are
#: one piece of user text each.
_LISTS = ("available", "columns", "names", "sheets")

MESSAGES: dict[str, str] = {
    # Reading a file
    "file.missing": "The file {file} does not exist.",
    "file.empty": "{file} is empty.",
    "file.cannot_open": (
        "{file} could not be opened; check that you may read it and that no other program has it locked."
    ),
    "file.unsupported": (
        "{file} is not a kind of file that can be read here; use CSV, TSV, Excel (.xlsx), JSON, JSON Lines "
        "(.jsonl), Parquet, or a folder of .txt files."
    ),
    "file.needs_package": "Reading {file} needs the '{package}' package, which is not installed.",
    "file.unreadable": "{file} could not be read; it may be damaged, or not really {kind}.",
    "file.not_a_table": (
        "{file} is {kind}, not a table of examples, whatever its name says. Put your examples in a spreadsheet "
        "and save it as Excel (.xlsx) or CSV."
    ),
    "json.invalid": "{file} is not valid JSON: there is a problem at line {line}, column {column} ({reason}).",
    "json.not_a_list": "{file} should hold a list of records, but it holds {found}.",
    "json.many_lists": (
        "{file} holds several lists ({names}), so it is not clear which one is the data; keep only one."
    ),
    "jsonl.bad_line": "Line {line} of {file} is not a valid JSON object ({reason}).",
    "row.not_an_object": "Row {row} of {file} is not a record with named fields.",
    "csv.too_many_values": (
        "Line {line} of {file} has {found} values but the header names {expected} columns; a text probably "
        "contains a '{delimiter}' without quotes around it."
    ),
    # Columns and fields
    "column.missing": "{file} has no column named '{column}'; its columns are: {available}.",
    "column.no_text": "No column of {file} holds text; its columns are: {available}.",
    "column.only_text": (
        "{file} has only a column of texts ('{column}') and none with labels. Add a column with each text's "
        "category; in a workbook, only the first sheet is read, so move the sheet with your examples to the front."
    ),
    "column.no_label": (
        "It is not clear which column of {file} holds the labels; choose it among: {available}."
    ),
    "field.wrong_type": "Row {row} of {file} has {found} where the '{field}' text should be.",
    "field.bad_label": "Row {row} of {file} has {found} in '{field}', which cannot be used as a label.",
    "field.not_a_list": "Row {row} of {file} has {found} where the list of '{field}' should be.",
    "field.bad_turn": "Row {row} of {file} has {found} in '{field}' where a turn (a speaker and a text) should be.",
    "field.no_role": "Row {row} of {file} has a turn that does not say who speaks (it has no '{field}').",
    "field.bad_role": "Row {row} of {file} has a turn from '{role}', which is not a known speaker.",
    "field.bad_weight": "Row {row} of {file} has {found} as a 'loss_weight', where a number should be.",
    "field.non_text_part": "Row {row} of {file} has a message part of the kind '{kind}'; only text can be used.",
    # Whole datasets
    "data.no_rows": "{file} has no rows with {what}.",
    "data.unknown_chat_format": (
        "{file} does not look like conversation data: choose a column of questions and one of answers, or use "
        "Alpaca, ShareGPT or OpenAI fields, but found: {available}."
    ),
    "data.missing_placeholders": (
        "{file} uses the placeholders {names}; give their values in the job's 'template_values' setting."
    ),
    "split.too_few": "There are only {rows} examples; at least 2 are needed to keep one aside for evaluation.",
    # Files that are not what they claim to be (the bad-input suite feeds every one of these)
    "file.binary": "{file} is not a text file: it looks like {kind}. Save your data as CSV, Excel, JSON or Parquet.",
    "file.only_header": "{file} has a header row ({columns}) but no examples under it.",
    "file.mixed_encoding": (
        "{file} changes its text encoding part-way through (it began as {encoding}); save it again as UTF-8."
    ),
    "file.too_big": "{file} is too big to read into this computer's memory; split it into smaller files.",
    "file.zip_bomb": (
        "{file} would unpack to {size}, far more than any real workbook; it was not opened, as it is damaged "
        "or made to fill the disk."
    ),
    "file.xlsx_texts_too_big": (
        "{file} holds {size} of texts, more than can be read here without running out of memory; save "
        "the sheet as CSV, or split the workbook."
    ),
    "file.xlsx_other_sheet": (
        "Only the first sheet of {file}, '{first}', is read, and it holds almost nothing, while another sheet "
        "holds a table (its sheets: {sheets}); move the data to the first sheet, or save its sheet as a file "
        "of its own."
    ),
    "csv.value_too_long": (
        "Line {line} of {file} holds a value of more than {limit} characters; a quote is probably not closed, "
        "so the rest of the file was read as one value."
    ),
    "csv.bad_line": "Line {line} of {file} cannot be read as CSV ({reason}).",
    "json.huge_number": "{file} holds a number of thousands of digits, which cannot be data for training.",
    "json.too_deep": "{file} nests lists or groups of fields too deeply to be data for training.",
    "file.not_ordinary": (
        "{file} is not an ordinary file (it is a pipe, a device or a socket), so it cannot be read as data; "
        "save the data in a file and choose that."
    ),
    "folder.too_wide": (
        "{folder} is a whole disk or your home folder, not a folder of texts; choose the folder that holds "
        "a sub-folder of .txt files for each category."
    ),
    "folder.too_big": (
        "The folder {folder} holds more than {limit} files and folders, far more than a folder of texts for "
        "training; choose the folder that holds a sub-folder of .txt files for each category."
    ),
    "folder.no_texts": "The folder {folder} holds no .txt files; put each category's texts in a sub-folder of its own.",
    "registry.invalid": "{file} is not a valid LLaMA-Factory dataset list ({reason}).",
    "registry.no_local": (
        "{file} lists no dataset whose file is in the same folder; copy the data files next to it."
    ),
    "registry.unknown": "{file} has no dataset called '{dataset}'; the ones here are: {available}.",
    "registry.remote": (
        "The dataset '{dataset}' in {file} is on the internet, not in a file here; download it first and "
        "point to the file."
    ),
    "registry.ranking": (
        "The dataset '{dataset}' in {file} holds pairs of better and worse answers, which this version "
        "cannot train on yet."
    ),
    "registry.outside": "The dataset '{dataset}' in {file} points to a file outside its folder, which is not read.",
    "registry.missing_file": "The dataset '{dataset}' in {file} names the file {data_file}, which is not there.",
    # Turning conversations into tokens
    "chat.template_failed": "The model's chat template cannot write this conversation: {reason}.",
    "chat.template_unstable": (
        "The model's chat template rewrites earlier turns when a new one is added, so the answers to learn "
        "cannot be told apart from the rest; choose another model or give it a different chat template."
    ),
    # Tagged text: documents with marked names (entity spans), engine/data/spans/
    "spans.unknown_format": (
        "{file} does not look like tagged text: expected one word per line with its tag (CoNLL, BIO), brat "
        "files (.txt with .ann), PubTator, BioC, or JSON with texts and marked character spans."
    ),
    "spans.not_utf8": "{file} is not saved as UTF-8 text, so its character positions cannot be trusted; save it again as UTF-8.",
    "spans.no_tag": (
        "Line {line} of {file} has a word but no tag; each line should hold a word, then its tag (such as "
        "B-Disease or O), separated by a tab or spaces."
    ),
    "spans.bad_tag": (
        "Line {line} of {file} has the tag '{tag}', which is not O or a type with B-, I-, E- or S- in front "
        "(such as B-Disease)."
    ),
    "spans.mixed_schemes": (
        "{file} mixes two ways of writing tags ({first} at line {first_line}, {second} at line {second_line}); "
        "use one of them throughout."
    ),
    "spans.bad_ann_line": (
        "Line {line} of {annotations} cannot be read as a brat annotation; it should look like "
        "'T1<tab>Disease 10 17<tab>the words'."
    ),
    "spans.ann_without_txt": "{annotations} has no text file {text} beside it, so its marks point to nothing.",
    "spans.no_ann": "{file} holds no .ann files; brat keeps each text's marks in a .ann file beside its .txt.",
    "spans.outside_text": (
        "{where} marks characters {start} to {end}, but the text has only {length} characters; the marks "
        "were probably made on another version of the text."
    ),
    "spans.text_mismatch": (
        "{where} marks characters {start} to {end} as '{expected}', but the text there reads '{found}'; the "
        "marks were probably made on another version of the text."
    ),
    "spans.bad_offsets": (
        "{where} has a marked span from {start} to {end}; a span needs two whole numbers, the start before "
        "the end."
    ),
    "spans.no_type": "{where} has a marked span from {start} to {end} with no type (such as Disease) given.",
    "spans.no_text": "{where} has no text to tag (it has: {available}).",
    "spans.no_documents": "{file} holds no texts with words in them.",
    "spans.bad_xml": "{file} is not valid BioC XML: there is a problem at line {line} ({reason}).",
    "spans.bad_bioc": "{file} is not valid BioC: {where} has {found} where {expected} should be.",
    "spans.no_texts": "{file} holds no texts to tag: give a .txt file with one text per line, or a table with a text column.",
    "spans.too_big": "{file} holds a file of {size} inside it, too big to be tagged text; it was not opened.",
    # Pictures (engine/images/): each unreadable one is left out and counted; the rest still train
    "image.empty": "{file} is empty (0 bytes), so it holds no picture.",
    "image.not_a_picture": "{file} is not a picture Tunewright can read, whatever its name says (it may be a text or another kind of file).",
    "image.truncated": "{file} is cut short (the file ends before the picture does); copy it again from where it came from.",
    "image.unreadable": "{file} could not be read as a picture ({reason}).",
    "image.too_large": (
        "{file} says it is {width} x {height} pixels, far larger than any picture a model is shown; it was not "
        "opened (a picture that size would fill the memory). Shrink it first."
    ),
    "image.dicom_no_pixels": "{file} is a DICOM file without an image in it (only its details), so there is nothing to learn from.",
    "image.dicom_compressed": (
        "{file} is a DICOM image compressed in a way no installed decoder reads ({reason}); export it "
        "uncompressed, or install pylibjpeg."
    ),
    "images.no_pictures": (
        "{file} holds no pictures sorted into categories: give a folder with one sub-folder of pictures per "
        "category, a CSV or Excel sheet with a column of picture files and one of categories, or a zip of either."
    ),
    "images.no_path_column": (
        "No column of {file} names picture files (such as photos/cat1.jpg); its columns are: {available}."
    ),
    "images.no_label_column": "{file} has a column of picture files ('{column}') but none with their categories.",
    "images.missing": "The picture {file} named in {table} is not there.",
    "images.none_usable": "None of the {count} pictures in {file} can be used. The first: {first}",
    "images.outside": "{table} names {file}, which is outside the folder the table is in, so it is not read.",
    "images.not_in_category": "{file} is not in a category's sub-folder, so its category is unknown; it is left out.",
    "images.too_many": "{folder} holds more than {limit} files, far more than a folder of pictures for training.",
    "images.zip_unsafe": "{file} holds an entry ({entry}) that would be written outside its folder, so the zip was not opened.",
    "images.zip_too_big": "{file} would unpack to more than {size}; it was not opened.",
    "images.loop": "{folder} leads back into itself through a link ({link}); the link was not followed.",
}


class DataError(ValueError):
    """A problem with the user's data, told as one sentence a non-programmer understands.

    ``code`` is a key of MESSAGES and ``values`` fill its blanks, so callers can both show the sentence
    (``str(error)``) and record what happened in a form that does not depend on the wording.
    """

    def __init__(self, code: str, **values: object) -> None:
        # A value from the file (a column name, a label, a text) may be long or hold line breaks and
        # control characters; the sentence stays one short printable line.
        values = {key: shown(value, 800 if key in _LISTS else 80) if isinstance(value, str) else value
                  for key, value in values.items()}
        self.code = code
        self.values = values
        super().__init__(" ".join(MESSAGES[code].format(**values).splitlines()))


def describe(value: object) -> str:
    """A few plain words for what a value is, to say what was found where something else was expected."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a yes/no value"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a text"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a group of named fields"
    return "a value of another kind"
