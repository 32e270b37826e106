"""Merging what several sources say about one paper into one record (pure).

arXiv is authoritative for the bibliographic fields of the version it reports; Hugging Face
and Semantic Scholar only add signals, and only fill bibliographic gaps when arXiv has not
spoken yet (a paper first seen on HF). A record never goes back to an older version.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import StrEnum

from bot.core.models import Paper

__all__ = ["ARXIV_SOURCES", "Change", "merge_paper"]

ARXIV_SOURCES = frozenset({"arxiv"})


class Change(StrEnum):
    NEW = "new"
    REVISED = "revised"  # the version went up
    UPDATED = "updated"  # same version, new information (signals, missing fields)
    UNCHANGED = "unchanged"


def _from_arxiv(paper: Paper) -> bool:
    return bool(paper.sources & ARXIV_SOURCES)


def merge_paper(old: Paper | None, new: Paper) -> tuple[Paper, Change]:
    """Fold ``new`` into ``old``; return the merged record and what kind of change it was."""
    if old is None:
        return new, Change.NEW
    if old.arxiv_id != new.arxiv_id:
        raise ValueError(f"cannot merge {new.arxiv_id} into {old.arxiv_id}")

    new_speaks = _from_arxiv(new) or not _from_arxiv(old)
    if new.version > old.version and new_speaks:
        base = new
    elif new.version == old.version and new_speaks:
        # Same version: take the new word, but keep what the new record lacks.
        base = dataclasses.replace(
            new,
            title=new.title or old.title,
            abstract=new.abstract or old.abstract,
            authors=new.authors if _richer_authors(new, old) else old.authors,
            categories=_richer_categories(old, new),
            updated=new.updated or old.updated,
            announce_type=new.announce_type or old.announce_type,
            comment=new.comment or old.comment,
            doi=new.doi or old.doi,
            journal_ref=new.journal_ref or old.journal_ref,
        )
    else:
        base = old  # an older version, or a non-arXiv source after arXiv spoke

    merged = dataclasses.replace(
        base,
        published=_earliest(old, new),
        hf=new.hf if new.hf is not None else old.hf,
        s2=new.s2 if new.s2 is not None else old.s2,
        sources=old.sources | new.sources,
    )
    if merged.version > old.version:
        return merged, Change.REVISED
    if merged != old:
        return merged, Change.UPDATED
    return old, Change.UNCHANGED


def _earliest(old: Paper, new: Paper) -> datetime | None:
    dates = [d for d in (old.published, new.published) if d is not None]
    return min(dates) if dates else None


def _richer_categories(old: Paper, new: Paper) -> tuple[str, ...]:
    if not new.categories:
        return old.categories
    if not old.categories:
        return new.categories
    # The API names the primary category first; the listing feed may not. Keep the old
    # order when both list the same set, so a re-poll is not mistaken for a change.
    if set(new.categories) == set(old.categories):
        return old.categories
    return new.categories


def _richer_authors(new: Paper, old: Paper) -> bool:
    if not new.authors:
        return False
    if not old.authors:
        return True
    # Prefer the record that knows more affiliations (the API does; the listing feed may not).
    return sum(1 for a in new.authors if a.affiliation) >= sum(
        1 for a in old.authors if a.affiliation
    )
