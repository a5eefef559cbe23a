"""Who may charge: the owner's id tags (RFID cards) and the answers they get.

A charger asks before it charges: ``Authorize`` when a card is presented,
``StartTransaction`` when the session starts. Both are answered from the
owner's list here; the same list goes to the charger as its *local
authorisation list* (``SendLocalList``), so the cards keep working while the
central system is away.

OCPP 1.6 id tags are ``CiString20Type``: at most 20 printable ASCII
characters, compared without regard to case.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from .connection import ocpp_time
from .measurands import parse_timestamp

ID_TAG_MAX_LENGTH = 20


class AuthorizationStatus(StrEnum):
    """``idTagInfo.status`` of OCPP 1.6."""

    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"
    CONCURRENT_TX = "ConcurrentTx"


def valid_id_tag(text: str) -> bool:
    """Whether ``text`` can be an OCPP 1.6 id tag (1-20 printable ASCII)."""
    return 0 < len(text) <= ID_TAG_MAX_LENGTH and all(
        "!" <= character <= "~" for character in text
    )


def tag_key(id_tag: str) -> str:
    """Return what two id tags are compared by (CiString: case does not count)."""
    return id_tag.casefold()


@dataclass(frozen=True, slots=True, kw_only=True)
class IdTag:
    """One card the owner allows, with an optional expiry and parent tag."""

    id_tag: str
    name: str = ""
    expiry: datetime | None = None
    parent: str | None = None
    """A group tag: cards with the same parent stop each other's sessions."""

    def status(self, now: datetime) -> AuthorizationStatus:
        """Return Accepted, or Expired once its expiry has passed."""
        if self.expiry is not None and self.expiry <= now:
            return AuthorizationStatus.EXPIRED
        return AuthorizationStatus.ACCEPTED

    def id_tag_info(self, now: datetime) -> dict[str, Any]:
        """Return the ``idTagInfo`` for this card (snake_case, as the library sends)."""
        info: dict[str, Any] = {"status": self.status(now).value}
        if self.expiry is not None:
            info["expiry_date"] = ocpp_time(self.expiry)
        if self.parent:
            info["parent_id_tag"] = self.parent
        return info

    def to_json(self) -> dict[str, Any]:
        """JSON-safe, as stored in the entry's options."""
        data: dict[str, Any] = {"id_tag": self.id_tag, "name": self.name}
        if self.expiry is not None:
            data["expiry"] = self.expiry.isoformat()
        if self.parent:
            data["parent_id_tag"] = self.parent
        return data

    @classmethod
    def from_json(cls, data: object) -> IdTag | None:
        """Read back :meth:`to_json`; anything unusable is None."""
        if not isinstance(data, Mapping):
            return None
        id_tag = data.get("id_tag")
        if not isinstance(id_tag, str) or not valid_id_tag(id_tag):
            return None
        parent = data.get("parent_id_tag")
        return cls(
            id_tag=id_tag,
            name=str(data.get("name") or ""),
            expiry=parse_timestamp(data.get("expiry")),
            parent=parent if isinstance(parent, str) and valid_id_tag(parent) else None,
        )


@dataclass(frozen=True, slots=True)
class Authorization:
    """The owner's cards and whether unknown cards may charge too."""

    tags: tuple[IdTag, ...] = ()
    free_charging: bool = False
    """Unknown cards are Accepted (how chargers were answered before lists)."""

    @classmethod
    def from_json(cls, tags: Iterable[object], *, free_charging: bool) -> Authorization:
        """Build from stored tags, skipping any that are unusable."""
        parsed = (IdTag.from_json(tag) for tag in tags)
        return cls(
            tuple(tag for tag in parsed if tag is not None),
            free_charging=free_charging,
        )

    def find(self, id_tag: str) -> IdTag | None:
        """Return the owner's card with this tag (case does not count)."""
        key = tag_key(id_tag)
        return next((tag for tag in self.tags if tag_key(tag.id_tag) == key), None)

    def id_tag_info(self, id_tag: str, now: datetime) -> dict[str, Any]:
        """Answer for a presented card: the list decides, then free charging."""
        known = self.find(id_tag)
        if known is not None:
            return known.id_tag_info(now)
        status = (
            AuthorizationStatus.ACCEPTED
            if self.free_charging
            else AuthorizationStatus.INVALID
        )
        return {"status": status.value}

    def local_list(self, now: datetime) -> list[dict[str, Any]]:
        """Return the cards as ``SendLocalList`` entries (each with its idTagInfo)."""
        return [
            {"id_tag": tag.id_tag, "id_tag_info": tag.id_tag_info(now)}
            for tag in self.tags
        ]

    @property
    def fingerprint(self) -> tuple[tuple[str, str | None, str | None], ...]:
        """What the charger's local list holds of this (names do not count)."""
        return tuple(
            (
                tag.id_tag,
                tag.expiry.isoformat() if tag.expiry else None,
                tag.parent,
            )
            for tag in self.tags
        )


OPEN = Authorization(free_charging=True)
"""Every card accepted: a station nobody has configured."""


class LocalListStatus(StrEnum):
    """Where the charger's local authorisation list stands."""

    UNMANAGED = "unmanaged"
    """No card was ever added in Home Assistant: the charger's list is left alone."""
    PENDING = "pending"
    """Changed while the charger was away: sent when it connects."""
    SYNCED = "synced"
    NOT_SUPPORTED = "not_supported"
    """The charger has no Local Auth List Management."""
    DISABLED = "disabled"
    """``LocalAuthListEnabled`` is off on the charger (list version -1)."""
    TOO_LONG = "too_long"
    """More cards than the charger's ``LocalAuthListMaxLength``."""
    FAILED = "failed"
    """The charger refused the list (``Failed``/``VersionMismatch``)."""


__all__ = [
    "ID_TAG_MAX_LENGTH",
    "OPEN",
    "Authorization",
    "AuthorizationStatus",
    "IdTag",
    "LocalListStatus",
    "tag_key",
    "valid_id_tag",
]
