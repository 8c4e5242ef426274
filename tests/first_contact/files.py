"""Files as people bring them, made by code: exports from spreadsheets, helpdesks, CRMs, survey tools and
note folders, in four languages, each with the mess real files have mixed in (empty rows, repeats, a
category seen once, the same text filed under two categories).

No test was written around any one of them: test_first_contact.py drives every file through the same
wizard and holds each to the same promise. A case is a name, the task the person picks, and a function
that writes the file into a folder and returns its path.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

# ---------------------------------------------------------------- what people write about

HELPDESK = {
    "Card arrival": ["my new card has still not arrived", "the card you posted two weeks ago never came",
                     "when will my replacement card be delivered", "no card in the post yet"],
    "Lost or stolen card": ["my wallet was stolen with the card in it", "I lost my card on the train",
                            "someone took my card at the market", "please block my card, it is gone"],
    "Change PIN": ["how do I change my PIN", "I want a new PIN number", "can I pick my own PIN at the machine"],
    "Exchange rate": ["the exchange rate on my payment in dollars looks wrong", "which rate do you use for euros",
                      "I was charged a worse rate than the one on your site"],
    "Refund not showing": ["the shop refunded me but I cannot see the money", "my refund is still missing",
                           "a refund from last week is not on my account"],
    "Top up failed": ["my top up did not go through", "adding money by card failed twice",
                      "the app says top up declined"],
    "Transfer not received": ["my friend never got the money I sent", "the transfer left my account but did not arrive",
                              "a payment to my landlord is missing"],
    "Cash withdrawal charge": ["why was I charged for taking out cash", "there is a fee on my ATM withdrawal",
                               "I thought cash withdrawals were free"],
    "Verify identity": ["the app keeps asking me to verify my identity", "my passport photo was rejected",
                        "how long does the identity check take"],
    "Direct debit": ["a direct debit I do not recognise", "my gym took money twice by direct debit",
                     "how do I cancel a direct debit"],
    "Terminate account": ["I want to close my account", "please delete my account and my data",
                          "how do I end my membership"],
    "Card not working": ["my card is declined everywhere", "the card does not work in shops",
                         "contactless stopped working on my card"],
}
CLINIC = {
    "Appointment": ["I need to move my appointment on Tuesday", "can I see the doctor this week",
                    "please cancel my visit tomorrow", "is there a slot for a check-up"],
    "Prescription": ["I need a repeat prescription for my blood pressure tablets", "the pharmacy has no prescription from you",
                     "my inhaler prescription ran out"],
    "Test results": ["are my blood test results back", "what did the X-ray show",
                     "I have not heard about my scan results"],
    "Billing": ["I was billed twice for one visit", "my insurance says you sent the wrong code",
                "why is there a charge for a phone call"],
    "Referral": ["I need a referral to a dermatologist", "the hospital has not received my referral letter",
                 "can you refer me to physiotherapy"],
}
LAB = {
    "Contamination": ["colonies look fuzzy, probably fungal contamination", "the media turned cloudy overnight",
                      "mycoplasma test came back positive on plate 3"],
    "Equipment": ["the centrifuge makes a grinding noise above 4000 rpm", "incubator 2 drifted to 39 degrees",
                  "the pipette needs recalibration"],
    "Protocol change": ["switched to the new lysis buffer from today", "extended the incubation to 90 minutes",
                        "we now spin at 4 degrees instead of room temperature"],
    "Result": ["band at the expected size, about 1.2 kb", "no signal in the negative control as expected",
               "the knockout line shows half the expression"],
}
REVIEWS = {
    "positive": ["great app, does exactly what I need", "fast delivery and friendly staff", "love the new design",
                 "works perfectly on my phone"],
    "negative": ["crashes every time I open it", "the update deleted my settings", "waited an hour on the phone",
                 "too many adverts, uninstalling"],
    "neutral": ["it is fine, nothing special", "does the job", "ok but the menu is confusing at first"],
}
PRODUCTS = {
    "Kitchen": ["stainless steel frying pan, 28 cm", "set of six wine glasses", "electric kettle with temperature control"],
    "Garden": ["folding garden chair in teak", "hose reel with 30 m hose", "solar lights for the path, pack of 8"],
    "Office": ["ergonomic office chair with lumbar support", "A4 paper, 5 reams", "desk lamp with USB charging"],
    "Toys": ["wooden train set with 40 pieces", "puzzle of 1000 pieces, mountain lake", "plush bear, 30 cm"],
}
CLAUSES = {
    "Confidentiality": ["each party shall keep the other's information confidential",
                        "the recipient shall not disclose confidential information to third parties"],
    "Termination": ["either party may terminate this agreement with 30 days' written notice",
                    "this agreement ends automatically if the licence is revoked"],
    "Liability": ["neither party is liable for indirect or consequential loss",
                  "liability is limited to the fees paid in the previous twelve months"],
    "Payment": ["invoices are payable within 30 days of receipt", "late payments bear interest at 4% a year"],
}
OPENERS = ["Hi,", "Hello,", "Dear team,", "", "", "Good morning,", "URGENT:", "Hi there -", "Quick question:"]
CLOSERS = ["Thanks.", "Thank you!", "", "", "Regards, Sam", "Please help.", "Many thanks, A. Novak", "Cheers"]

QA = {
    "en": ("Question", "Answer", [
        ("What are your opening hours?", "We are open Monday to Friday from 8 am to 6 pm, and on Saturday mornings."),
        ("How do I book an appointment?", "Call us, or book online through the patient portal; you get a confirmation by e-mail."),
        ("Can I bring my own medication?", "Yes. Bring it in its original packaging and tell the nurse when you arrive."),
        ("Where can I park?", "There is free parking behind the building; the entrance is on Mill Lane."),
        ("How do I get my test results?", "Results appear in the patient portal within five working days."),
    ]),
    "de": ("Frage", "Antwort", [
        ("Wann haben Sie geöffnet?", "Wir haben Montag bis Freitag von 8 bis 18 Uhr geöffnet."),
        ("Wie kann ich einen Termin vereinbaren?", "Rufen Sie uns an oder buchen Sie online über das Patientenportal."),
        ("Wo kann ich parken?", "Hinter dem Gebäude gibt es kostenlose Parkplätze."),
        ("Wie erhalte ich meine Befunde?", "Die Befunde stehen nach fünf Werktagen im Patientenportal."),
        ("Muss ich meine Versichertenkarte mitbringen?", "Ja, bitte bringen Sie sie zu jedem Besuch mit."),
    ]),
    "fr": ("Question", "Réponse", [
        ("Quels sont vos horaires d'ouverture ?", "Nous sommes ouverts du lundi au vendredi, de 8 h à 18 h."),
        ("Comment prendre rendez-vous ?", "Appelez-nous ou réservez en ligne sur le portail patient."),
        ("Où puis-je me garer ?", "Un parking gratuit se trouve derrière le bâtiment."),
        ("Comment recevoir mes résultats ?", "Les résultats sont disponibles sur le portail sous cinq jours ouvrés."),
        ("Dois-je apporter ma carte Vitale ?", "Oui, à chaque consultation."),
    ]),
    "es": ("Pregunta", "Respuesta", [
        ("¿Cuál es su horario?", "Abrimos de lunes a viernes, de 8 a 18 h."),
        ("¿Cómo pido una cita?", "Llámenos o reserve en línea en el portal del paciente."),
        ("¿Dónde puedo aparcar?", "Hay aparcamiento gratuito detrás del edificio."),
        ("¿Cómo recibo mis resultados?", "Los resultados aparecen en el portal en cinco días laborables."),
        ("¿Tengo que traer la tarjeta sanitaria?", "Sí, en cada visita."),
    ]),
}
VARIANTS = {"en": ["", "Please tell me: ", "Sorry to bother you, ", "Quick one. "],
            "de": ["", "Kurze Frage: ", "Entschuldigung, ", "Bitte sagen Sie mir: "],
            "fr": ["", "Petite question : ", "Bonjour, ", "Pardon, "],
            "es": ["", "Una pregunta: ", "Hola, ", "Perdone, "]}


def texts(rng: random.Random, topics: dict[str, list[str]], rows: int) -> list[tuple[str, str]]:
    """(text, category) pairs, each a phrase of its category with a greeting, a detail and a sign-off."""
    out = []
    for index in range(rows):
        category = rng.choice(list(topics))
        phrase = rng.choice(topics[category])
        detail = rng.choice(["", f" (ref {rng.randint(1000, 99999)})", f" since {rng.randint(2, 28)} March",
                             " again", " - second time this month"])
        out.append((" ".join(part for part in (rng.choice(OPENERS), phrase[0].upper() + phrase[1:] + detail + ".",
                                               rng.choice(CLOSERS)) if part), category))
    return out


def mess(rng: random.Random, rows: list[tuple[str, str]], *, singleton: str = "Other question") -> list[tuple[str, str]]:
    """What real files have mixed in: two empty messages, three repeats, a category seen once, and one text
    filed under two categories."""
    rows = list(rows)
    rows += [rng.choice(rows) for _ in range(3)]
    text, category = rng.choice(rows)
    other = next(name for _, name in rows if name != category)
    rows.append((text, other))
    rows += [("", rng.choice(rows)[1]), ("   ", rng.choice(rows)[1])]
    rows.append(("Do you also sell gift vouchers for friends?", singleton))
    rng.shuffle(rows)
    return rows


def write_csv(path: Path, header: list[str], rows: list[list[Any]], *, delimiter: str = ",", encoding: str = "utf-8",
              newline: str = "\r\n", preamble: list[list[Any]] | None = None) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline, quoting=csv.QUOTE_MINIMAL)
    for line in preamble or []:
        writer.writerow(line)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def workbook(path: Path, sheets: list[tuple[str, list[list[Any]]]], merge: dict[str, list[str]] | None = None) -> Path:
    import openpyxl
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets:
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for cells in (merge or {}).get(title, []):
            sheet.merge_cells(cells)
    book.save(path)
    return path


# ---------------------------------------------------------------- the cases


@dataclass
class Case:
    name: str
    task: str  # what the person picks in step 1: "classify" or "chat"
    make: Callable[[Path, random.Random], Path]
    about: str
    marks: list[Any] = field(default_factory=list)

    def param(self) -> Any:
        return pytest.param(self, id=self.name, marks=self.marks)


CASES: list[Case] = []


def case(name: str, task: str = "classify", about: str = "", marks: list[Any] | None = None):
    def register(make: Callable[[Path, random.Random], Path]) -> Callable[[Path, random.Random], Path]:
        CASES.append(Case(name, task, make, about or (make.__doc__ or "").strip(), marks or []))
        return make
    return register


@case("issue_helpdesk_cp1252")
def _issue_helpdesk(folder: Path, rng: random.Random) -> Path:
    """The issue's first file: a customer-service export, semicolons, Windows-1252, 12 topics, and one empty
    message whose topic appears nowhere else."""
    rows = mess(rng, texts(rng, HELPDESK, 180))
    rows = [(text.replace("euros", "€").replace("delivered", "délivré"), topic) for text, topic in rows]
    rows = [row for row in rows if row[1] != "Other question"] + [("", "Complaint about staff")]
    return write_csv(folder / "Kundenservice Export 2026-11.csv", ["Message", "Topic"], [list(r) for r in rows],
                     delimiter=";", encoding="cp1252")


@case("issue_faq_excel", task="chat")
def _issue_faq(folder: Path, rng: random.Random) -> Path:
    """The issue's second file: an Excel sheet with the columns Question and Answer, for "answer like my examples"."""
    question, answer, pairs = QA["en"]
    rows = [[rng.choice(VARIANTS["en"]) + q, a] for q, a in pairs for _ in range(14)]
    rows += [["", ""], rows[0], ["What about weekends?", ""]]
    return workbook(folder / "Clinic FAQ.xlsx", [("FAQ", [[question, answer], *rows])])


@case("zendesk_tickets")
def _zendesk(folder: Path, rng: random.Random) -> Path:
    """Zendesk's CSV export: ids, subject, description, status, tags, dates."""
    rows = [[40000 + i, text[:40], text, rng.choice(["open", "solved", "pending"]), topic,
             f"2026-10-{rng.randint(1, 30):02d} 09:{rng.randint(0, 59):02d}"]
            for i, (text, topic) in enumerate(mess(rng, texts(rng, HELPDESK, 150)))]
    return write_csv(folder / "zendesk_tickets_export.csv", ["Id", "Subject", "Description", "Status", "Tags", "Created at"], rows)


@case("freshdesk_tickets")
def _freshdesk(folder: Path, rng: random.Random) -> Path:
    """Freshdesk's export, with quoted headers and a Type column for the category."""
    rows = [[f"#{i}", text, topic, rng.choice(["Low", "Medium", "High"]), "Support"]
            for i, (text, topic) in enumerate(mess(rng, texts(rng, HELPDESK, 130)))]
    return write_csv(folder / "Freshdesk - All tickets.csv", ["Ticket ID", "Description", "Type", "Priority", "Group"], rows)


@case("salesforce_cases")
def _salesforce(folder: Path, rng: random.Random) -> Path:
    """A CRM export (Salesforce cases): account names, subject and description, case reason."""
    rows = [[f"0000{i:04d}", rng.choice(["Acme Ltd", "Müller GmbH", "Dupont SA"]), text, topic, "Closed"]
            for i, (text, topic) in enumerate(mess(rng, texts(rng, HELPDESK, 120)))]
    return write_csv(folder / "report1699999999999.csv", ["Case Number", "Account Name", "Description", "Case Reason", "Status"], rows)


@case("hubspot_with_bom")
def _hubspot(folder: Path, rng: random.Random) -> Path:
    """HubSpot's ticket export: UTF-8 with a byte-order mark, as Excel likes it."""
    rows = [[text, topic, rng.choice(["New", "Waiting on contact", "Closed"])]
            for text, topic in mess(rng, texts(rng, HELPDESK, 110))]
    return write_csv(folder / "hubspot-crm-exports-all-tickets.csv", ["Ticket description", "Category", "Ticket status"],
                     rows, encoding="utf-8-sig")


@case("intercom_conversations")
def _intercom(folder: Path, rng: random.Random) -> Path:
    """Intercom's conversation export: one row per conversation, the first message and its tag."""
    rows = [[f"conv_{rng.randint(10**8, 10**9)}", "user", text, topic]
            for text, topic in mess(rng, texts(rng, HELPDESK, 100))]
    return write_csv(folder / "conversations.csv", ["conversation_id", "author_type", "first_message", "tag"], rows)


@case("jira_issues_repeated_columns")
def _jira(folder: Path, rng: random.Random) -> Path:
    """Jira's CSV export repeats a column name for each value (Labels, Labels)."""
    rows = [[text[:50], text, topic, "Bug", "support", ""]
            for text, topic in mess(rng, texts(rng, LAB, 90))]
    return write_csv(folder / "Jira.csv", ["Summary", "Description", "Component/s", "Issue Type", "Labels", "Labels"], rows)


@case("outlook_emails")
def _outlook(folder: Path, rng: random.Random) -> Path:
    """Outlook's export of a mail folder: subject, body over several lines, sender, category."""
    rows = [[text[:30], f"{text}\n\n--\nSent from my phone", "patient@example.org", topic]
            for text, topic in mess(rng, texts(rng, CLINIC, 120))]
    return write_csv(folder / "Inbox export.CSV", ["Subject", "Body", "From: (Address)", "Categories"], rows)


@case("google_sheets_feedback")
def _sheets(folder: Path, rng: random.Random) -> Path:
    """A Google Sheets download: LF line ends, empty trailing columns with no header."""
    rows = [[f"{rng.randint(1, 28)}/10/2026", text, topic, "", ""] for text, topic in mess(rng, texts(rng, REVIEWS, 120))]
    return write_csv(folder / "Customer feedback - Sheet1.csv", ["Date", "Feedback", "Sentiment", "", ""], rows, newline="\n")


@case("google_forms_survey")
def _forms(folder: Path, rng: random.Random) -> Path:
    """Google Forms responses: the questions are the headers."""
    rows = [[f"2026/10/{rng.randint(1, 28):02d} 10:0{rng.randint(0, 9)}:00 AM GMT+1", f"user{i}@example.org",
             rng.randint(1, 5), text, topic] for i, (text, topic) in enumerate(mess(rng, texts(rng, CLINIC, 100)))]
    return write_csv(folder / "Patient survey (Responses) - Form responses 1.csv",
                     ["Timestamp", "Email Address", "How satisfied are you? (1-5)", "What could we do better?",
                      "Which service did you use?"], rows)


@case("surveymonkey_two_header_rows")
def _surveymonkey(folder: Path, rng: random.Random) -> Path:
    """SurveyMonkey's export: a second header row under the questions ("Open-Ended Response")."""
    rows = [[10**10 + i, "", text, topic] for i, (text, topic) in enumerate(mess(rng, texts(rng, CLINIC, 100)))]
    return write_csv(folder / "Data_All_261101.csv", ["Respondent ID", "Collector ID", "Tell us about your visit", "Department"],
                     [["", "", "Open-Ended Response", "Response"], *rows])


@case("qualtrics_three_header_rows")
def _qualtrics(folder: Path, rng: random.Random) -> Path:
    """Qualtrics' export: question ids, then the question text, then import ids, then the answers."""
    rows = [[f"R_{rng.randint(10**6, 10**7)}", "IP Address", text, topic]
            for text, topic in mess(rng, texts(rng, REVIEWS, 110))]
    return write_csv(folder / "Product+survey_November+1,+2026_09.15.csv", ["ResponseId", "DistributionChannel", "Q1", "Q2"],
                     [["Response ID", "Distribution Channel", "What do you think of the app?", "Overall feeling"],
                      ['{"ImportId":"_recordId"}', '{"ImportId":"distributionChannel"}', '{"ImportId":"QID1_TEXT"}',
                       '{"ImportId":"QID2"}'], *rows])


@case("typeform_responses")
def _typeform(folder: Path, rng: random.Random) -> Path:
    """Typeform's export: a hidden-field column, the answers, a network id, submit dates."""
    rows = [[f"{rng.getrandbits(40):x}", text, topic, f"2026-10-{rng.randint(1, 28):02d} 12:00:00", f"{rng.getrandbits(32):x}"]
            for text, topic in mess(rng, texts(rng, REVIEWS, 100))]
    return write_csv(folder / "responses.csv", ["#", "Anything else you'd like to tell us?", "How do you feel about us?",
                                                "Submit Date (UTC)", "Network ID"], rows)


@case("app_store_reviews_stars")
def _stars(folder: Path, rng: random.Random) -> Path:
    """App reviews with their star rating as the category (numbers, not words)."""
    stars = {"positive": [4, 5], "negative": [1, 2], "neutral": [3]}
    rows = [[text, rng.choice(stars[topic]), "2026-10-01"] for text, topic in mess(rng, texts(rng, REVIEWS, 140))
            if topic in stars] + [["Brilliant", 5]]
    return write_csv(folder / "reviews.csv", ["review", "stars", "date"], rows)


@case("tab_separated_lab_log")
def _tsv(folder: Path, rng: random.Random) -> Path:
    """A lab log saved as tab-separated text."""
    rows = [[f"2026-09-{rng.randint(1, 30):02d}", rng.choice(["AK", "MB", "JL"]), text, topic]
            for text, topic in mess(rng, texts(rng, LAB, 110))]
    return write_csv(folder / "lab_log.tsv", ["date", "initials", "note", "kind"], rows, delimiter="\t")


@case("excel_several_sheets")
def _excel_sheets(folder: Path, rng: random.Random) -> Path:
    """An Excel workbook: the tickets on the first sheet, a lookup table and chart data on others."""
    rows = [[i, text, topic] for i, (text, topic) in enumerate(mess(rng, texts(rng, HELPDESK, 140)))]
    return workbook(folder / "Tickets Q3.xlsx", [
        ("Tickets", [["No.", "Customer message", "Topic"], *rows]),
        ("Topics", [["Topic", "Owner"], *[[name, "Team A"] for name in HELPDESK]]),
        ("Chart", [["Month", "Count"], ["July", 120], ["August", 98]]),
    ])


@case("excel_merged_title_row")
def _excel_title(folder: Path, rng: random.Random) -> Path:
    """An Excel sheet with a merged title row above the header, as made for printing."""
    rows = [[text, topic, "yes"] for text, topic in mess(rng, texts(rng, CLINIC, 110))]
    return workbook(folder / "Patient messages October.xlsx",
                    [("Messages", [["Patient messages - October 2026", None, None], ["Message", "Category", "Answered"], *rows])],
                    merge={"Messages": ["A1:C1"]})


@case("excel_merged_header_cells")
def _excel_merged_header(folder: Path, rng: random.Random) -> Path:
    """Two header rows with merged group cells ("Request" over Text and Channel), and merged category cells
    down the rows, as a person formats a sheet by hand."""
    rows = [[text, rng.choice(["phone", "mail"]), topic] for text, topic in mess(rng, texts(rng, HELPDESK, 100))]
    return workbook(folder / "Requests by hand.xlsx",
                    [("Sheet1", [["Request", None, "Sorting"], ["Text", "Channel", "Category"], *rows])],
                    merge={"Sheet1": ["A1:B1"]})


@case("excel_totals_row")
def _excel_totals(folder: Path, rng: random.Random) -> Path:
    """An Excel sheet whose last rows are a blank line and a total."""
    rows = [[text, topic, 1] for text, topic in mess(rng, texts(rng, PRODUCTS, 110))]
    return workbook(folder / "catalogue.xlsx", [("Products", [["Description", "Department", "Count"], *rows, [None, None, None],
                                                              ["Total", None, len(rows)]])])


@case("excel_readme_sheet_first")
def _excel_readme(folder: Path, rng: random.Random) -> Path:
    """A workbook whose first sheet explains the data and whose second holds it."""
    rows = [[text, topic] for text, topic in mess(rng, texts(rng, CLAUSES, 90))]
    return workbook(folder / "Clauses for review.xlsx", [
        ("README", [["This workbook lists contract clauses and their type."], ["Prepared by legal, 2026."]]),
        ("Clauses", [["Clause", "Type"], *rows]),
    ])


@case("clinic_notes_folder")
def _notes(folder: Path, rng: random.Random) -> Path:
    """A folder of notes, one sub-folder per category, as exported from a notes app: some empty, some
    repeated, a category with one note, one in Windows-1252."""
    root = folder / "Clinic notes"
    for index, (text, topic) in enumerate(mess(rng, texts(rng, CLINIC, 90))):
        place = root / topic.replace("/", "-")
        place.mkdir(parents=True, exist_ok=True)
        (place / f"note {index:03d}.txt").write_text(text, encoding="utf-8")
    (root / "Billing" / "note café.txt").write_bytes("Le café was billed twice, s'il vous plaît.".encode("cp1252"))
    (root / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    return root


@case("lab_notebook_folder")
def _lab_notes(folder: Path, rng: random.Random) -> Path:
    """A lab notebook exported as text files in folders by kind of entry."""
    root = folder / "notebook_export"
    for index, (text, topic) in enumerate(mess(rng, texts(rng, LAB, 80))):
        place = root / topic
        place.mkdir(parents=True, exist_ok=True)
        (place / f"{index}.txt").write_text(f"Entry {index}\n{text}\n", encoding="utf-8")
    return root


@case("contract_clauses_jsonl")
def _jsonl(folder: Path, rng: random.Random) -> Path:
    """JSON Lines from a document tool: a text, a label, and metadata."""
    lines = [json.dumps({"text": text, "label": topic, "meta": {"page": rng.randint(1, 40)}}, ensure_ascii=False)
             for text, topic in mess(rng, texts(rng, CLAUSES, 100))]
    path = folder / "clauses.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@case("shop_products_json")
def _json(folder: Path, rng: random.Random) -> Path:
    """A JSON list from a shop's product export: title, description, category."""
    items = [{"sku": f"SKU-{i}", "title": text[:25], "description": text, "category": topic, "price": 9.99}
             for i, (text, topic) in enumerate(mess(rng, texts(rng, PRODUCTS, 120)))]
    path = folder / "products.json"
    path.write_text(json.dumps(items, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


@case("multi_label_tags")
def _tags(folder: Path, rng: random.Random) -> Path:
    """Tickets with several tags each, comma-separated in one cell."""
    rows = []
    for text, topic in mess(rng, texts(rng, HELPDESK, 120)):
        second = rng.choice(list(HELPDESK)) if rng.random() < 0.3 else ""
        rows.append([text, topic if second in ("", topic) else f"{topic}, {second}"])
    return write_csv(folder / "tagged_tickets.csv", ["text", "tags"], rows)


@case("semicolon_excel_german")
def _german_excel_csv(folder: Path, rng: random.Random) -> Path:
    """What German Excel saves as "CSV (Trennzeichen-getrennt)": semicolons, Windows-1252, German headers."""
    names = {"Appointment": "Termin", "Prescription": "Rezept", "Test results": "Befund", "Billing": "Rechnung",
             "Referral": "Überweisung"}
    rows = [[text, names[topic] if topic in names else topic] for text, topic in mess(rng, texts(rng, CLINIC, 120))]
    return write_csv(folder / "Anfragen_Praxis.csv", ["Nachricht", "Kategorie"], rows, delimiter=";", encoding="cp1252")


@case("french_messages_latin1")
def _french(folder: Path, rng: random.Random) -> Path:
    """A French export in Latin-1 with accented categories."""
    names = {"positive": "Satisfait", "negative": "Mécontent", "neutral": "Neutre"}
    rows = [[text + " Très bien expliqué.", names.get(topic, "Autre")] for text, topic in mess(rng, texts(rng, REVIEWS, 100))]
    return write_csv(folder / "avis_clients.csv", ["Commentaire", "Catégorie"], rows, encoding="latin-1")


@case("spanish_tickets")
def _spanish(folder: Path, rng: random.Random) -> Path:
    """A Spanish helpdesk export with "Mensaje" and "Categoría"."""
    rows = [[f"Hola, {text}", topic] for text, topic in mess(rng, texts(rng, HELPDESK, 110))]
    return write_csv(folder / "tickets_soporte.csv", ["Mensaje", "Categoría"], rows)


@case("faq_german_csv", task="chat")
def _faq_de(folder: Path, rng: random.Random) -> Path:
    """German questions and answers from a practice's website, semicolon CSV."""
    return _faq(folder / "FAQ_Praxis.csv", "de", rng, delimiter=";", encoding="cp1252")


@case("faq_french_csv", task="chat")
def _faq_fr(folder: Path, rng: random.Random) -> Path:
    """French questions and answers (Question / Réponse)."""
    return _faq(folder / "faq_cabinet.csv", "fr", rng)


@case("faq_spanish_xlsx", task="chat")
def _faq_es(folder: Path, rng: random.Random) -> Path:
    """Spanish questions and answers in an Excel sheet (Pregunta / Respuesta)."""
    question, answer, pairs = QA["es"]
    rows = [[rng.choice(VARIANTS["es"]) + q, a] for q, a in pairs for _ in range(12)] + [["", ""], [pairs[0][0], pairs[1][1]]]
    return workbook(folder / "preguntas_frecuentes.xlsx", [("Hoja1", [[question, answer], *rows])])


@case("prompt_completion_csv", task="chat")
def _prompt_completion(folder: Path, rng: random.Random) -> Path:
    """Pairs in the prompt/completion columns an older fine-tuning service asked for."""
    _, _, pairs = QA["en"]
    rows = [[rng.choice(VARIANTS["en"]) + q, " " + a] for q, a in pairs for _ in range(12)]
    return write_csv(folder / "training_pairs.csv", ["prompt", "completion"], rows)


@case("alpaca_export_jsonl", task="chat")
def _alpaca(folder: Path, rng: random.Random) -> Path:
    """Instruction/input/output rows, as another fine-tuning tool exports them; an empty answer and repeats."""
    _, _, pairs = QA["en"]
    rows = [{"instruction": rng.choice(VARIANTS["en"]) + q, "input": "", "output": a} for q, a in pairs for _ in range(12)]
    rows += [rows[0], rows[1], {"instruction": "And on holidays?", "input": "", "output": ""}]
    path = folder / "clinic_alpaca.jsonl"
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


@case("sharegpt_export_json", task="chat")
def _sharegpt(folder: Path, rng: random.Random) -> Path:
    """Conversations in ShareGPT's layout, some of two turns, in German."""
    _, _, pairs = QA["de"]
    conversations = []
    for _ in range(60):
        (q1, a1), (q2, a2) = rng.sample(pairs, 2)
        turns = [{"from": "human", "value": rng.choice(VARIANTS["de"]) + q1}, {"from": "gpt", "value": a1}]
        if rng.random() < 0.5:
            turns += [{"from": "human", "value": q2}, {"from": "gpt", "value": a2}]
        conversations.append({"conversations": turns})
    conversations += [conversations[0], {"conversations": []}]
    path = folder / "gespraeche.json"
    path.write_text(json.dumps(conversations, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


@case("openai_messages_jsonl", task="chat")
def _openai(folder: Path, rng: random.Random) -> Path:
    """OpenAI-style messages with a system prompt, in French."""
    _, _, pairs = QA["fr"]
    rows = [{"messages": [{"role": "system", "content": "Vous êtes l'accueil du cabinet."},
                          {"role": "user", "content": rng.choice(VARIANTS["fr"]) + q},
                          {"role": "assistant", "content": a}]} for q, a in pairs for _ in range(12)]
    rows += [rows[2], {"messages": [{"role": "user", "content": "Et le samedi ?"}, {"role": "assistant", "content": ""}]}]
    path = folder / "accueil.jsonl"
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def _faq(path: Path, language: str, rng: random.Random, *, delimiter: str = ",", encoding: str = "utf-8") -> Path:
    question, answer, pairs = QA[language]
    rows = [[rng.choice(VARIANTS[language]) + q, a] for q, a in pairs for _ in range(12)]
    rows += [["", ""], rows[0], [pairs[2][0], pairs[3][1]]]  # empty, repeated, and a question with a wrong answer
    return write_csv(path, [question, answer], rows, delimiter=delimiter, encoding=encoding)
