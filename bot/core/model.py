"""The dialog model: frozen objects that the engine, checker and renderers all share.

Only the loader reads raw YAML; everybody else works with these classes. The JSON Schema that
editors use to autocomplete `dialogs/*.yaml` is generated from them (`kebas schema`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from enum import Enum
from functools import cached_property
from typing import Annotated, Any, Literal, TypeGuard

from pydantic import BaseModel, ConfigDict, Field, model_validator

Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", min_length=1,
                                  description="lower-case letters, digits and _, "
                                              "starting with a letter")]
OptionId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_]*$", min_length=1,
                                description="lower-case letters, digits and _")]
TextKey = Annotated[str, Field(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*$",
                               description="a key into locales/<lang>.yaml, e.g. q.chest_pain")]
FactValue = bool | int | float | str
Facts = dict[str, Any]


class TriageLevel(str, Enum):
    """How soon the runner should get help; a higher rank is more urgent."""

    SELF_CARE = "self_care"
    SOON = "soon"
    URGENT = "urgent"
    EMERGENCY = "emergency"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    @classmethod
    def most_urgent(cls, levels: Iterable[TriageLevel | str]) -> TriageLevel | None:
        ranked = [cls(level) for level in levels]
        return max(ranked, key=lambda level: level.rank) if ranked else None


_RANKS = {TriageLevel.SELF_CARE: 0, TriageLevel.SOON: 1, TriageLevel.URGENT: 2,
          TriageLevel.EMERGENCY: 3}


Level = Annotated[TriageLevel, Field(strict=False,
                                     description="emergency, urgent, soon or self_care")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# --- Conditions -------------------------------------------------------------------------


class Range(_Strict):
    """A number test: `{min: 50}`, `{max: 29}`, or both (inclusive)."""

    min: int | float | None = None
    max: int | float | None = None

    @model_validator(mode="after")
    def _has_a_bound(self) -> Range:
        if self.min is None and self.max is None:
            raise ValueError("a number test needs 'min', 'max' or both"
                             "|e.g. {min: 50} for 50 and over")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"'min' ({self.min}) is larger than 'max' ({self.max})"
                             "|swap them, or correct the one that is wrong")
        return self


FactTest = Annotated[
    FactValue | list[FactValue] | Range,
    Field(description="a value (equal to / chosen), a list (any of these), or {min, max}"),
]


class Condition(BaseModel):
    """`fact: test` pairs that must all hold, plus optional `all`, `any` and `not`.

    Example: `{sides: both, back_pain: [below_knee, back_only]}`, or
    `{any: [{diabetes: "yes"}, {age: {min: 50}}]}`.
    """

    model_config = ConfigDict(extra="allow", frozen=True, strict=True, populate_by_name=True,
                              json_schema_extra={"minProperties": 1})

    all: list[Condition] | None = None
    any: list[Condition] | None = None
    not_: Condition | None = Field(default=None, alias="not")

    __pydantic_extra__: dict[str, FactTest]

    @model_validator(mode="after")
    def _not_empty(self) -> Condition:
        if not self.tests and self.all is None and self.any is None and self.not_ is None:
            raise ValueError("an empty condition is always true|write at least one fact test, "
                             "e.g. {chest_pain: \"yes\"}")
        return self

    @property
    def tests(self) -> dict[str, Any]:
        return dict(self.__pydantic_extra__ or {})


# --- Nodes ------------------------------------------------------------------------------


class Branch(_Strict):
    """Go to `next` when `when` holds; branches are tried in order before the default."""

    when: Condition
    next: Identifier


class _NodeBase(_Strict):
    id: Identifier
    text: TextKey = Field(description="what the bot says or asks")
    note: str | None = Field(default=None, description="a comment for maintainers; never shown")


class _Moving(_NodeBase):
    next: Identifier = Field(description="the node that follows when no branch matches")
    branches: list[Branch] = Field(default_factory=list)

    def targets(self) -> list[str]:
        return [branch.next for branch in self.branches] + [self.next]


class Option(_Strict):
    id: OptionId
    text: TextKey
    set: dict[Identifier, FactValue] = Field(default_factory=dict,
                                             description="extra facts this answer sets")
    exclusive: bool = Field(default=False,
                            description="in a multiple choice: the 'none of these' option")


class ChoiceQuestion(_Moving):
    type: Literal["choice"]
    options: list[Option] = Field(min_length=2)


class MultiQuestion(_Moving):
    type: Literal["multi"]
    options: list[Option] = Field(min_length=2)


YES_NO = ("yes", "no")
UNSURE = "unsure"


class YesNoQuestion(_Moving):
    type: Literal["yesno"]
    unsure: bool = Field(default=False, description="also offer 'not sure'")
    set_if_yes: dict[Identifier, FactValue] = Field(default_factory=dict)

    @cached_property
    def options(self) -> list[Option]:
        ids = YES_NO + ((UNSURE,) if self.unsure else ())
        return [Option(id=option_id, text=f"common.{option_id}",
                       set=self.set_if_yes if option_id == "yes" else {}) for option_id in ids]


class NumberQuestion(_Moving):
    type: Literal["number"]
    min: int | float
    max: int | float
    integer: bool = True
    unit: TextKey | None = Field(default=None,
                                 description="e.g. units.years, shown after the number")

    @model_validator(mode="after")
    def _range(self) -> NumberQuestion:
        if self.min > self.max:
            raise ValueError(f"'min' ({self.min}) is larger than 'max' ({self.max})"
                             "|swap them, or correct the one that is wrong")
        return self


class InfoNode(_Moving):
    type: Literal["info"]


class OutcomeNode(_NodeBase):
    type: Literal["outcome"]
    level: Level = Field(default=TriageLevel.SELF_CARE,
                               description="the least urgent advice this ending may give")
    show_causes: bool = True


Node = Annotated[
    ChoiceQuestion | MultiQuestion | YesNoQuestion | NumberQuestion | InfoNode | OutcomeNode,
    Field(discriminator="type"),
]
# A node that asks something (render.Question is the asking as a channel shows it).
QuestionNode = ChoiceQuestion | MultiQuestion | YesNoQuestion | NumberQuestion
QUESTION_TYPES = (ChoiceQuestion, MultiQuestion, YesNoQuestion, NumberQuestion)


# --- Rules ------------------------------------------------------------------------------


class RedFlag(_Strict):
    """Fires the moment its condition becomes true; the advice is shown at once."""

    id: Identifier
    when: Condition
    level: Level
    title: TextKey = Field(description="a short name, listed again in the outcome")
    advice: TextKey = Field(description="what to do now")
    stop_at: Identifier | None = Field(
        default=None, description="an outcome to end at straight away; leave out to go on asking")
    note: str | None = None


class Score(_Strict):
    when: Condition
    points: int


class LevelRule(_Strict):
    when: Condition
    level: Level


class Cause(_Strict):
    """A likely cause, ranked by points from its `score` rules."""

    id: Identifier
    title: TextKey
    explain: TextKey = Field(description="why it happens, in plain words")
    todo: TextKey = Field(description="what to do about it")
    level: Level = Field(description="the usual advice when this cause is shown")
    level_if: list[LevelRule] = Field(default_factory=list,
                                      description="first matching rule overrides `level`")
    score: list[Score] = Field(min_length=1)
    note: str | None = None


class Scoring(_Strict):
    min_points: int = Field(default=4, description="a cause needs at least this many points")
    max_shown: int = Field(default=3, ge=1, le=5)
    lead: int | None = Field(
        default=None, ge=1,
        description="show only the top causes that are this many points ahead of the rest; "
                    "when none is, show the top max_shown as 'several causes are possible'")


class Texts(_Strict):
    """Keys the engine adds to every outcome."""

    disclaimer: TextKey
    safety_net: TextKey = Field(description="when to seek help; shown under non-emergency results")
    no_clear_cause: TextKey
    several_causes: TextKey | None = Field(
        default=None, description="said above the causes when none leads (scoring.lead)")


# --- Follow-up check-in -----------------------------------------------------------------

FollowupLevel = Literal["soon", "self_care"]


class Followup(_Strict):
    """An offer, under a result, to ask again later with a small check-in dialog.

    Only results that send nobody to a doctor today can be followed up: an urgent or emergency
    runner is told to get help now, not to wait for a reminder.
    """

    dialog: Identifier = Field(description="the check-in dialog (it names this one in 'follows')")
    days: dict[FollowupLevel, Annotated[int, Field(ge=1, le=30)]] = Field(
        min_length=1, description="after how many days to ask again, per result level: "
                                  "soon and/or self_care")


class SummaryLine(_Strict):
    """One field of the summary for the doctor, answered by these questions (none: not asked)."""

    id: Identifier
    label: TextKey = Field(description="the field's name, e.g. summary.field.onset")
    questions: list[Identifier] = Field(
        default_factory=list,
        description="the questions whose answers fill it, as clinical terms (clin.<q>.<option>)")


_HASHES: dict[int, tuple[Dialog, str]] = {}


class Dialog(_Strict):
    id: Identifier
    version: int = Field(ge=1)
    title: TextKey
    start: Identifier
    screening: list[Identifier] = Field(
        default_factory=list,
        description="the red-flag screening questions; kebas check proves they come first")
    texts: Texts
    scoring: Scoring = Field(default_factory=Scoring)
    nodes: list[Node] = Field(min_length=1)
    red_flags: list[RedFlag] = Field(default_factory=list)
    causes: list[Cause] = Field(default_factory=list)
    followup: Followup | None = Field(
        default=None, description="offer to ask again after a soon or self_care result")
    follows: Identifier | None = Field(
        default=None, description="in a check-in dialog: the dialog whose result it follows up")
    summary: list[SummaryLine] = Field(
        default_factory=list, description="the summary for the doctor (/ringkasan), in order")

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True,
                              json_schema_extra={"title": "Kebas dialog"})

    @cached_property
    def node_by_id(self) -> dict[str, Any]:
        return {node.id: node for node in self.nodes}

    @property
    def content_hash(self) -> str:
        """Identifies this exact dialog: any edit changes it, even without a new version.

        Cached per object, not as a cached_property: `model_copy(update=...)` would copy it.
        """
        entry = _HASHES.get(id(self))
        if entry is None or entry[0] is not self:
            text = self.model_dump_json(by_alias=True).encode("utf-8")
            entry = (self, hashlib.sha256(text).hexdigest()[:16])
            _HASHES[id(self)] = entry
        return entry[1]

    def node(self, node_id: str) -> Any:
        return self.node_by_id[node_id]


def is_question(node: object) -> TypeGuard[QuestionNode]:
    return isinstance(node, QUESTION_TYPES)


def node_targets(node: object) -> list[str]:
    return node.targets() if isinstance(node, _Moving) else []


def options_of(node: object) -> list[Option]:
    return list(getattr(node, "options", []))


def dialog_json_schema() -> dict[str, Any]:
    schema = Dialog.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://kebas.invalid/dialog.schema.json"
    return schema


def dialog_text_keys(dialog: Dialog) -> Iterator[tuple[str, tuple[str | int, ...]]]:
    """Every text key the dialog uses, with the path where it is named."""
    yield dialog.title, ("title",)
    for name in type(dialog.texts).model_fields:
        if getattr(dialog.texts, name) is not None:
            yield getattr(dialog.texts, name), ("texts", name)
    for i, node in enumerate(dialog.nodes):
        yield node.text, ("nodes", i, "text")
        if isinstance(node, NumberQuestion) and node.unit:
            yield node.unit, ("nodes", i, "unit")
        if isinstance(node, (ChoiceQuestion, MultiQuestion)):  # yes/no options are common.*
            for j, option in enumerate(node.options):
                yield option.text, ("nodes", i, "options", j, "text")
    for i, flag in enumerate(dialog.red_flags):
        yield flag.title, ("red_flags", i, "title")
        yield flag.advice, ("red_flags", i, "advice")
    for i, cause in enumerate(dialog.causes):
        for name in ("title", "explain", "todo"):
            yield getattr(cause, name), ("causes", i, name)
    yield from summary_text_keys(dialog)


def summary_text_keys(dialog: Dialog) -> Iterator[tuple[str, tuple[str | int, ...]]]:
    """The summary's line labels and the clinical term of every answer its lines print."""
    for i, line in enumerate(dialog.summary):
        yield line.label, ("summary", i, "label")
        for j, question_id in enumerate(line.questions):
            node = dialog.node_by_id.get(question_id)
            for option in options_of(node):
                yield clinical_term_key(question_id, option.id), ("summary", i, "questions", j)
            if isinstance(node, NumberQuestion) and node.unit:
                yield node.unit, ("summary", i, "questions", j)


def clinical_term_key(question_id: str, option_id: str) -> str:
    """How a doctor writes this answer: `clin.<question>.<option>` (yes/no: .yes .no .unsure)."""
    return f"clin.{question_id}.{option_id}"
