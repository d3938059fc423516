"""The options every command that reads a cohort, events, custody or disposals shares.

Defined once here, so that ``pbr measure``, ``pbr compare``, ``pbr pay`` and ``pbr
cohort`` spell them the same way: the column-mapping options (``--offender-id COLUMN``
... one per role of :mod:`pbr.schema`) and the reading options ``--separator``,
``--encoding``, ``--date-format`` and ``--id-as-string``, which apply to every file the
command reads (so that the cohort and the events read the identifier the same way and
join).

pbr's own messages name Python arguments (``pass offender_id='<your column>'``);
:func:`flag_terms` rewrites them in the command line's terms (``pass --offender-id
COLUMN``), so that every error tells the user the flag that fixes it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from pbr.errors import PbrError, SchemaError, SpecError
from pbr.io.db import is_database_uri, parse_database_uri
from pbr.schema import DISPOSALS

__all__ = [
    "READING",
    "ROLES",
    "CourtEventId",
    "DateFormat",
    "DisposalDate",
    "DisposalType",
    "DisposalTypeMap",
    "Encoding",
    "EndDate",
    "IdAsString",
    "IndexDate",
    "KeepDuplicates",
    "OffenceCategory",
    "OffenceCode",
    "OffenceDate",
    "OffenderId",
    "Separator",
    "StartDate",
    "check_columns",
    "check_not_input",
    "check_output",
    "check_toml",
    "cli_message",
    "event_options",
    "flag_terms",
    "input_path",
    "reading",
    "roles",
    "shown",
]

ROLES = "Column names (when the file's differ from pbr's role names)"
READING = "Reading files (every input file of the command)"


def _role(role: str, what: str, optional: bool = False) -> Any:
    default = f" Default: {role}, if present." if optional else ""
    return typer.Option(f"--{role.replace('_', '-')}", metavar="COLUMN",
                        rich_help_panel=ROLES, help=f"The files' column for {what}.{default}")


OffenderId = Annotated[str, _role("offender_id", "the person identifier (every file)")]
IndexDate = Annotated[str, _role("index_date", "the cohort's index date")]
OffenceDate = Annotated[str, _role("offence_date", "the events' offence date")]
DisposalDate = Annotated[str, _role("disposal_date", "the disposal (proof) date")]
DisposalType = Annotated[str, _role("disposal_type", "the disposal type")]
OffenceCode = Annotated[str, _role("offence_code", "the events' offence code")]
OffenceCategory = Annotated[str | None, _role(
    "offence_category", "the events' offence category", optional=True)]
CourtEventId = Annotated[str | None, _role(
    "court_event_id", "the events' court event id", optional=True)]
StartDate = Annotated[str, _role("start_date", "a custody spell's first day")]
EndDate = Annotated[str, _role("end_date", "a custody spell's last day")]

Separator = Annotated[str | None, typer.Option(
    "--separator", metavar="CHAR", rich_help_panel=READING,
    help="CSV field separator: one character, e.g. ';' or '|'; '\\t' or 'tab' for a tab. "
         "Default: ',' (tab for .tsv).")]
Encoding = Annotated[str, typer.Option(
    "--encoding", rich_help_panel=READING,
    help="CSV text encoding, e.g. utf-8, latin-1, cp1252 (Excel on Windows).")]
DateFormat = Annotated[str | None, typer.Option(
    "--date-format", metavar="FORMAT", rich_help_panel=READING,
    help="strftime format of text dates, e.g. '%d/%m/%Y'. Default: YYYY-MM-DD.")]
IdAsString = Annotated[bool, typer.Option(
    "--id-as-string", rich_help_panel=READING,
    help="Read identifiers as text, exactly as written (00123 keeps its zeros), in every "
         "file.")]
DisposalTypeMap = Annotated[list[str] | None, typer.Option(
    "--disposal-type-map", metavar="VALUE=TYPE", rich_help_panel=READING,
    help="Map a disposal_type of the events onto pbr's, e.g. 'fine=conviction' "
         "(repeatable).")]
KeepDuplicates = Annotated[bool, typer.Option(
    "--keep-duplicates", rich_help_panel=READING,
    help="Count exact duplicate event rows as distinct offences (default: counted once, "
         "ledgered as duplicate_event).")]


def roles(**given: str | None) -> dict[str, str]:
    """The role -> column mapping the user changed (a column named like its role, or an
    optional role not given, is left out)."""
    return {role: col for role, col in given.items() if col is not None and col != role}


def reading(separator: str | None, encoding: str, date_format: str | None,
            id_as_string: bool) -> dict[str, Any]:
    """The keyword arguments of :func:`pbr.io.read_events` and its siblings."""
    if separator is not None and separator.lower() in ("\\t", "tab"):
        separator = "\t"
    return {"separator": separator, "encoding": encoding, "date_format": date_format,
            "id_as_string": id_as_string}


def event_options(disposal_type_map: list[str] | None, keep_duplicates: bool
                  ) -> dict[str, Any]:
    """The events-only keyword arguments of :func:`pbr.io.read_events`."""
    mapping: dict[str, str] = {}
    for pair in disposal_type_map or []:
        value, sep, target = pair.partition("=")
        if not sep or not value.strip() or not target.strip():
            raise typer.BadParameter(f"write VALUE=TYPE, e.g. fine=conviction; got {pair!r}",
                                     param_hint="--disposal-type-map")
        mapping[value.strip()] = target.strip()
    return {"disposal_type_map": mapping or None,
            "duplicates": "keep" if keep_duplicates else "exclude"}


# --------------------------------------------------------------------------- inputs
def input_path(value: str | Path | None) -> Path | None:
    """An input option's file, or None for a database URI (:mod:`pbr.io.db`) or no
    value: what :func:`check_not_input` compares outputs with."""
    if value is None or is_database_uri(value):
        return None
    return Path(value)


def shown(value: str | Path) -> str:
    """An input option as the command prints it: a database URI without its password."""
    return parse_database_uri(value, require=False).label if is_database_uri(value) else \
        str(value)


# --------------------------------------------------------------------------- checks
def check_output(path: Path | None, flag: str, suffixes: tuple[str, ...]) -> None:
    """Before any work: an output's suffix is one pbr writes and it is not a directory."""
    if path is None:
        return
    if path.suffix.lower() not in suffixes:
        raise SchemaError(f"{flag} {path}: unknown file type {path.suffix or '(no suffix)'!r}"
                          f"; supported: {', '.join(suffixes)}. Fix: end {flag} with one "
                          "of them")
    if path.is_dir():
        raise SchemaError(f"{flag} {path}: is a directory. Fix: give a file name, e.g. "
                          f"{flag} {path / ('out' + suffixes[0])}")


def check_toml(path: Path | None, flag: str) -> None:
    """A TOML input given by a flag is UTF-8 text with something in it: an empty file
    would silently mean every default."""
    if path is None or not path.is_file():
        return  # the reader names a missing file
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{flag} {path}: not a TOML text file (byte 0x{raw[exc.start]:02x} "
                        f"at position {exc.start}). Fix: give the TOML file") from None
    if not text.strip():
        raise SpecError(f"{flag} {path}: the file is empty, which would mean every default. "
                        f"Fix: give the TOML file, or leave out {flag}")


def check_not_input(out: Path | None, flag: str, inputs: dict[str, Path | None]) -> None:
    """An output that is one of the command's inputs would overwrite it: refuse."""
    if out is None:
        return
    for name, path in inputs.items():
        if path is not None and path.exists() and out.exists() and out.samefile(path):
            raise SchemaError(f"{flag} {out} is the {name} input: writing it would replace "
                              f"the input. Fix: give {flag} another file name")


def check_columns(columns: list[str], wanted: list[str] | None, flag: str,
                  table: str = "cohort") -> None:
    """Columns named by a flag (``--by provider``) exist in the table, before any work."""
    missing = [c for c in wanted or [] if c not in columns]
    if missing:
        raise SchemaError(
            f"{flag} {missing[0]}: the {table} has no column {missing[0]!r}; columns: "
            f"{', '.join(columns[:30])}. Fix: pass {flag} with one of them")


# --------------------------------------------------------------------------- messages
def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


#: roles whose column a flag of their own names; the other roles of pbr.schema (the
#: disposals' optional ones) are named with ``pbr cohort --role ROLE=COLUMN``
_ROLE_NAMES = ("offender_id", "index_date", "offence_date", "disposal_date",
               "disposal_type", "offence_code", "offence_category", "court_event_id",
               "start_date", "end_date")
_ROLE_ARG = re.compile(r"\b(" + "|".join(_ROLE_NAMES) + r")='<your column>'")
#: a role given a column in pbr's advice ("pass offender_id='pnc'"), not a row's value
_ROLE_VALUE = re.compile(r"\b(pass|but) (" + "|".join(_ROLE_NAMES) + r")=('[^']*')")
_OTHER_ROLE_ARG = re.compile(r"\b(" + "|".join(DISPOSALS.optional) + r")='<your column>'")
_ROLE_TO = re.compile(r"\b(" + "|".join(_ROLE_NAMES) + r")= to \w+\.from_frame")
_FROM_FRAME = re.compile(r" to (?:Cohort|Events|Custody|Disposals)\.from_frame")
_VALUE_ARG = re.compile(r"\b(separator|encoding|date_format)=('(?:[^'\\]|\\.)*'|\"[^\"]*\")")
_PLAIN = (("on_invalid='exclude'", "--on-invalid exclude"),
          ("id_as_string=True", "--id-as-string"),
          ("summary(by=...)", "--by"),
          ("date_format= ", "--date-format "),
          ("date_format=)", "--date-format)"),
          ("separator= ", "--separator "),
          ("with columns=", "with --column"),
          ("pass as_of= ", "pass --as-of "),
          ("interim=True", "--interim"))


#: pbr.compare's arguments that are flags of ``pbr compare`` of the same name
_COMPARE_ARG = re.compile(r"\b(method|variance|clusters)=(?:'([^']*)')?")
_TYPE_MAP = re.compile(r"Events\.from_frame\(events, disposal_type_map=\{'([^']*)': "
                       r"'([^']*)'(?:, \.\.\.)?\}\)")
_PROOF_TYPES = re.compile(r"MeasureSpec\(proof_types=(\[[^\]]*\])\)")


def cli_message(text: str) -> str:
    """pbr's message with its Python arguments replaced by the command line's flags.

    Examples
    --------
    >>> cli_message("Fix: pass offender_id='<your column>' to Events.from_frame, or pass "
    ...             "on_invalid='exclude'")
    'Fix: pass --offender-id COLUMN, or pass --on-invalid exclude'
    >>> cli_message("did you mean separator=';'?")
    "did you mean --separator ';'?"
    >>> cli_message("cohort row 3 (offender_id='007'): ... Fix: pass offender_id='pnc'")
    "cohort row 3 (offender_id='007'): ... Fix: pass --offender-id 'pnc'"
    """
    text = _TYPE_MAP.sub(lambda m: f"--disposal-type-map '{m.group(1)}={m.group(2)}' "
                         "(repeatable)", text)
    text = _PROOF_TYPES.sub(lambda m: f"proof_types = {m.group(1)} in a --spec file", text)
    text = text.replace("pass Events.from_frame(..., duplicates='keep')",
                        "pass --keep-duplicates")
    text = _ROLE_ARG.sub(lambda m: f"{_flag(m.group(1))} COLUMN", text)
    text = _OTHER_ROLE_ARG.sub(lambda m: f"--role {m.group(1)}=COLUMN", text)
    text = _ROLE_VALUE.sub(lambda m: f"{m.group(1)} {_flag(m.group(2))} {m.group(3)}", text)
    text = _ROLE_TO.sub(lambda m: f"{_flag(m.group(1))} COLUMN", text)
    text = _FROM_FRAME.sub("", text)
    text = _VALUE_ARG.sub(lambda m: f"{_flag(m.group(1))} {m.group(2)}", text)
    for old, new in _PLAIN:
        text = text.replace(old, new)
    text = _COMPARE_ARG.sub(lambda m: _flag(m.group(1)) + (f" {m.group(2)}" if m.group(2)
                                                            else ""), text)
    if "in the cohort but" in text and "--id-as-string" not in text:
        fix = "pass --id-as-string to read the identifiers of every file as text, as written"
        text = text.split(" Fix: ")[0] + f" Fix: {fix}" if " Fix: " in text else \
            f"{text}; {fix}"
    return text


@contextmanager
def flag_terms() -> Iterator[None]:
    """Re-raise pbr's errors with their messages in the command line's terms."""
    try:
        yield
    except PbrError as exc:
        exc.args = (cli_message(str(exc)),)
        raise
