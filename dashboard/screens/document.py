"""A report as an office files it (title, date line, numbered sections, tables), as plain
data: the brief and the analysis build one; the Word and PDF writers
(datasources/doors/documents.py) lay it out. Nothing here knows a file format."""

from __future__ import annotations

from dataclasses import dataclass, field

from dashboard.i18n.text import t

_ZH_NUMBERS = "一二三四五六七八九十"


@dataclass(frozen=True)
class Table:
    """A table with one header row; cells are text."""

    head: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Section:
    """A numbered section: a heading, paragraphs, then tables (an empty one says so)."""

    heading: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


@dataclass(frozen=True)
class Document:
    """The whole report: issuing office, title, date line, sections."""

    office: str
    title: str
    date_line: str
    sections: list[Section]
    lang: str = "zh"
    filename: str = "report"


def numbered(n: int, heading: str, lang: str) -> str:
    """'一、工单概况' in Chinese (the official first-level numbering), '1. Work orders'."""
    if lang == "en" or n > len(_ZH_NUMBERS):
        return f"{n}. {heading}"
    return f"{_ZH_NUMBERS[n - 1]}、{heading}"


def none_text(lang: str) -> str:
    """What an empty table says."""
    return t("br_none", lang)
