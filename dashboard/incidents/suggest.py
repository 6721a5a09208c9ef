"""Category and receiving unit suggested from a report's words (issue 18, 智能派单).

Two small models trained on the town's own closed work orders (scikit-learn): words →
category (one of the 15), and category + village + words → receiving unit. The words are
jieba's (dashboard/incidents/textsim.words) plus character pairs, which carry a wording the
model has not seen (电瓶车 / 电动车). A unit that is the report's own village committee is
learnt as one label ("the village's"), so what one village teaches serves every village.
Training and suggesting are plain computation; datasources/flows/suggestions.py reads the
work orders, keeps the versions and runs it off the intake path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dashboard.incidents.lifecycle import CATEGORIES
from dashboard.incidents.textsim import words

CATEGORY_CODES: tuple[str, ...] = tuple(c.code for c in CATEGORIES)
OWN_VILLAGE = "@village"  # the unit label "the report's own village committee"
MIN_EXAMPLES = 20  # fewer closed work orders teach nothing: no model, no suggestion
TOP = 3


@dataclass(frozen=True)
class Example:
    """One closed work order as the model learns from it."""

    text: str
    category: str
    village: str | None
    unit_id: str | None  # the unit it was handled by; None: the village's own


@dataclass
class Model:
    """A trained pair of models, with the version the suggestions it makes carry."""

    version: str
    trained_at: datetime | None
    examples: int
    category_model: Any
    unit_model: Any
    village_units: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Suggestion:
    """What the model suggests for one report: ranked (label, probability) pairs."""

    categories: tuple[tuple[str, float], ...]
    units: tuple[tuple[str, float], ...]
    version: str

    @property
    def category(self) -> str:
        """The first category."""
        return self.categories[0][0]

    @property
    def unit_id(self) -> str | None:
        """The first unit (None when none is known)."""
        return self.units[0][0] if self.units else None

    @property
    def confidence(self) -> float:
        """How sure the first category is (0–1)."""
        return self.categories[0][1]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the first category and unit with confidences, and the runners-up."""
        return {"category": self.category, "confidence": round(self.confidence, 3),
                "unit_id": self.unit_id,
                "unit_confidence": round(self.units[0][1], 3) if self.units else None,
                "categories": [[c, round(p, 3)] for c, p in self.categories],
                "units": [[u, round(p, 3)] for u, p in self.units],
                "version": self.version}


def _text_features() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: PLC0415
    from sklearn.pipeline import FeatureUnion  # noqa: PLC0415

    return FeatureUnion([
        ("words", TfidfVectorizer(analyzer=words, sublinear_tf=True)),
        ("chars", TfidfVectorizer(analyzer="char", ngram_range=(2, 2), sublinear_tf=True,
                                  min_df=1)),
    ])


def unit_label(unit_id: str | None, village: str | None,
               village_units: dict[str, str]) -> str:
    """The unit as the model learns it: OWN_VILLAGE for the report's village committee."""
    if unit_id is None or (village is not None and village_units.get(village) == unit_id):
        return OWN_VILLAGE
    return unit_id


def _unit_rows(texts: list[str], categories: list[str]) -> list[str]:
    # The category goes in as a word of its own, so the unit model sees it with the text.
    return [f"__{c}__ {t}" for t, c in zip(texts, categories, strict=True)]


def _unit_analyzer(text: str) -> list[str]:
    head, _, rest = text.partition(" ")
    return [head, *words(rest)]


def train(examples: list[Example], version: str, village_units: dict[str, str] | None = None,
          trained_at: datetime | None = None) -> Model:
    """Fit both models; ValueError when there are too few examples or one category only."""
    from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: PLC0415
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415
    from sklearn.pipeline import FeatureUnion, make_pipeline  # noqa: PLC0415

    village_units = dict(village_units or {})
    if not village_units:  # the bench's convention (and the demo town's): U-<village code>
        village_units = {e.village: f"U-{e.village}" for e in examples if e.village}
    if len(examples) < MIN_EXAMPLES or len({e.category for e in examples}) < 2:
        raise ValueError(f"too few examples to learn from ({len(examples)})")
    texts = [e.text for e in examples]
    cats = [e.category for e in examples]
    category_model = make_pipeline(_text_features(), LogisticRegression(C=20, max_iter=2000))
    category_model.fit(texts, cats)
    labels = [unit_label(e.unit_id, e.village, village_units) for e in examples]
    unit_model: Any = None
    if len(set(labels)) >= 2:
        unit_model = make_pipeline(
            FeatureUnion([("cat_words", TfidfVectorizer(analyzer=_unit_analyzer)),
                          ("chars", TfidfVectorizer(analyzer="char", ngram_range=(2, 2)))]),
            LogisticRegression(C=20, max_iter=2000))
        unit_model.fit(_unit_rows(texts, cats), labels)
    return Model(version, trained_at, len(examples), category_model, unit_model,
                 village_units)


def _ranked(model: Any, rows: list[str]) -> list[tuple[str, float]]:
    probs = model.predict_proba(rows)[0]
    pairs = sorted(zip(model.classes_, probs, strict=True), key=lambda p: -p[1])
    return [(str(label), float(p)) for label, p in pairs]


def suggest(model: Model, text: str, village: str | None,
            category: str | None = None) -> Suggestion:
    """The categories and units most likely for `text` reported in `village`, best first.

    The unit is ranked for `category` (a work order's, once it has one) or else the most
    likely category; "the village's" becomes the village committee of `village` (dropped
    when the report has no village)."""
    cats = _ranked(model.category_model, [text])[:TOP]
    units: list[tuple[str, float]] = []
    if model.unit_model is not None:
        for label, p in _ranked(model.unit_model, _unit_rows([text], [category or cats[0][0]])):
            unit = model.village_units.get(village or "") if label == OWN_VILLAGE else label
            if unit and unit not in {u for u, _ in units}:
                units.append((unit, p))
            if len(units) == TOP:
                break
    return Suggestion(tuple(cats), tuple(units), model.version)
