"""`mentions`: social-media mentions from a listening tool, one or a batch.

Our own shape by default; `?format=youscan` or `?format=meltwater` maps those tools' webhook
fields onto it (the fields read are listed in docs/alerts.md). Mentions group by brand (or
topic), so a wave about one brand is one incident; a mention's id within its network is its
dedup key. Sentiment is a score in [-1, 1] or a label.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AliasChoices, AliasPath, Field, field_validator, model_validator

from bot.core.intake import PayloadError, Problem
from bot.core.models import Alert
from bot.core.rules import kind_from_hint, severity_from_hint
from bot.core.sources import MENTIONS
from bot.ingest.common import Batch, Lenient, When, load_json, title_of, utc, validate
from bot.intake import Inbound

SENTIMENT_LABELS: Mapping[str, float] = {"negative": -1.0, "neutral": 0.0, "positive": 1.0,
                                         "mixed": 0.0}
UNKNOWN_SENTIMENT = frozenset({"", "undefined", "unknown", "not_rated"})


class Mention(Lenient):
    id: Annotated[str, Field(min_length=1, max_length=500)]
    text: str = ""
    author: str | None = None
    url: str | None = None
    network: str = "web"
    published_at: When | None = None
    language: str | None = None
    sentiment: float | None = Field(default=None, ge=-1, le=1)
    reach: float | None = Field(default=None, ge=0)
    followers: float | None = Field(default=None, ge=0)
    brand: str | None = None
    topic: str | None = None
    severity: str | None = None
    kind: str | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("sentiment", mode="before")
    @classmethod
    def _label(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in SENTIMENT_LABELS:
            return SENTIMENT_LABELS[value.strip().lower()]
        if isinstance(value, str) and value.strip().lower() in UNKNOWN_SENTIMENT:
            return None
        return value


class YouScanMention(Mention):
    """YouScan's mention webhook (its OpenAPI `WebhookMention`), read through aliases onto our
    fields. `mentionId` counts within a topic, so the topic is part of the id."""

    id: Annotated[str, Field(min_length=1, max_length=500)] = Field(
        validation_alias=AliasChoices("mentionId", "id"))
    text: str = Field(default="", validation_alias=AliasChoices("fullText", "text", "title"))
    author: str | None = Field(default=None, validation_alias=AliasPath("author", "name"))
    network: str = Field(default="web", validation_alias=AliasChoices(
        "sourceName", "source", "resourceType"))
    published_at: When | None = Field(default=None, validation_alias="published")
    reach: float | None = Field(default=None, ge=0,
                                validation_alias=AliasChoices("potentialReach", "reach"))
    followers: float | None = Field(default=None, ge=0,
                                    validation_alias=AliasPath("author", "subscribers"))
    topic: str | None = Field(default=None, validation_alias=AliasChoices("topicName", "topicId"))

    @field_validator("topic", mode="before")
    @classmethod
    def _topic_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @model_validator(mode="before")
    @classmethod
    def _topic_scoped_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and "mentionId" in data and "topicId" in data:
            return {**data, "mentionId": f"{data['topicId']}:{data['mentionId']}"}
        return data


class MeltwaterMention(Mention):
    """A document of a Meltwater stream (the `api.json` template, or the legacy one), read
    through aliases onto our fields."""

    id: Annotated[str, Field(min_length=1)] = Field(
        validation_alias=AliasChoices("document_id", "id"))
    text: str = Field(default="", validation_alias=AliasChoices(
        AliasPath("content", "opening_text"), AliasPath("content", "title"), "content",
        "opening_text", "hit_sentence", "title"))
    author: str | None = Field(default=None, validation_alias=AliasChoices(
        AliasPath("author", "name"), "author"))
    url: str | None = Field(default=None, validation_alias=AliasChoices("url", "document_url"))
    network: str = Field(default="web", validation_alias=AliasChoices(
        AliasPath("source", "name"), "source_name", "source_type", "content_type"))
    published_at: When | None = Field(default=None, validation_alias=AliasChoices(
        "published_date", "published_at"))
    language: str | None = Field(default=None, validation_alias=AliasChoices(
        AliasPath("content", "language"), "language_code", "language"))
    sentiment: float | None = Field(default=None, ge=-1, le=1, validation_alias=AliasChoices(
        AliasPath("enrichments", "sentiment"), "sentiment"))
    reach: float | None = Field(default=None, ge=0, validation_alias=AliasChoices(
        AliasPath("metrics", "reach"), AliasPath("source", "reach"), "reach"))
    topic: str | None = Field(default=None, validation_alias=AliasChoices(
        "search_name", AliasPath("metadata", "search_name"), "topic"))


FORMATS: Mapping[str, type[Mention]] = {"native": Mention, "youscan": YouScanMention,
                                        "meltwater": MeltwaterMention}


def parse_mentions(inbound: Inbound) -> list[Alert]:
    name = inbound.query.get("format", "native")
    shape = FORMATS.get(name)
    if shape is None:
        raise PayloadError([Problem("query.format",
                                    f"unknown format; use one of {', '.join(FORMATS)}")])
    data = load_json(inbound.body)
    if isinstance(data, dict) and isinstance(data.get("mentions"), list):
        data = data["mentions"]
    elif isinstance(data, dict) and isinstance(data.get("documents"), list):
        data = _stream_documents(data)
    if isinstance(data, list):
        items: list[Mention] = validate(Batch[shape], data)  # type: ignore[valid-type]
    else:
        items = [validate(shape, data)]
    return [_alert(item, inbound) for item in items]


def _stream_documents(data: dict[str, Any]) -> list[Any]:
    """A stream's `{"request": ..., "documents": [...]}`: the documents, each given the
    stream's search as its topic when it names none."""
    request = data.get("request")
    search = (request.get("search_name") or request.get("search_id")) \
        if isinstance(request, dict) else None
    if not isinstance(search, str | int) or isinstance(search, bool):
        return list(data["documents"])
    return [{**d, "topic": str(search)} if isinstance(d, dict) and not _names_topic(d) else d
            for d in data["documents"]]


def _names_topic(document: dict[str, Any]) -> bool:
    metadata = document.get("metadata")
    return bool(document.get("search_name") or document.get("topic") or
                (isinstance(metadata, dict) and metadata.get("search_name")))


def _alert(item: Mention, inbound: Inbound) -> Alert:
    group = item.brand or item.topic or MENTIONS
    metrics: dict[str, float] = {"mentions": 1.0}
    for name, value in (("sentiment", item.sentiment), ("reach", item.reach),
                        ("followers", item.followers)):
        if value is not None:
            metrics[name] = value
    labels = {k: v for k, v in {"network": item.network, "author": item.author,
                                "language": item.language, "brand": item.brand,
                                "topic": item.topic}.items() if v}
    return Alert(
        source=MENTIONS,
        dedup_key=f"{MENTIONS}:{item.network}:{item.id}",
        group_key=f"{MENTIONS}:{group}",
        title=title_of(item.text, item.url, item.id),
        received_at=inbound.received_at,
        description=item.text,
        severity=severity_from_hint(item.severity),
        kind=kind_from_hint(item.kind),
        labels=labels,
        url=item.url,
        occurred_at=utc(item.published_at),
        metrics=metrics,
        fingerprint=f"{MENTIONS}:{item.network}:{item.id}",
    )


