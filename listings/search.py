"""Search that works for Chinese and English alike.

Chinese has no spaces, and pg_trgm extracts no trigram from a two-character word
(`齿轮`), so every run of CJK characters is written into `Listing.search_text` as its
single characters and its overlapping bigrams (齿轮减速器 → 齿 轮 减 速 器 齿轮 轮减 减速
速器). A query is cut the same way (bigrams for runs of two or more, the character for
a one-character run) and every token must match (AND). Latin words and numbers are
lowercased alnum runs, so registry numbers and English words match case-insensitively.

PostgreSQL: search_tsv = to_tsvector('simple', search_text), GIN-indexed (listings/models.py),
queried with to_tsquery('simple', 'tok & tok & word:*'). SQLite: LIKE on each token.
"""
from __future__ import annotations

import re
from typing import Iterable

from sqlalchemy import and_, func, literal_column
from sqlalchemy.orm import Session

from .models import Listing, search_vector

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
# Either a run of CJK characters or a run of other letters/digits (no underscore).
_RUN = re.compile(rf"([{_CJK}]+)|([^\W_{_CJK}]+)")
_IS_CJK = re.compile(rf"[{_CJK}]")
MAX_QUERY_TOKENS = 24


def _runs(text: str) -> Iterable[tuple[str, bool]]:
    for m in _RUN.finditer((text or "").lower()):
        if m.group(1):
            yield m.group(1), True
        else:
            yield m.group(2), False


def bigrams(run: str) -> list[str]:
    return [run[i:i + 2] for i in range(len(run) - 1)]


def document_tokens(text: str) -> list[str]:
    """Tokens stored for a piece of text: words, CJK characters and CJK bigrams."""
    out: list[str] = []
    for run, cjk in _runs(text):
        if cjk:
            out.extend(run)  # single characters answer one-character queries
            out.extend(bigrams(run))
        else:
            out.append(run)
    return out


def query_tokens(q: str) -> list[tuple[str, bool]]:
    """(token, is_word) pairs to AND together; words may match as prefixes."""
    seen: dict[str, bool] = {}
    for run, cjk in _runs(q):
        if cjk:
            for tok in (bigrams(run) if len(run) > 1 else [run]):
                seen.setdefault(tok, False)
        else:
            seen.setdefault(run, True)
    return list(seen.items())[:MAX_QUERY_TOKENS]


def kind_token(kind: str) -> str:
    """IP kind as one alnum token ("kindtrademark"), so the kind filter uses the same index."""
    return "kind" + re.sub(r"[^0-9a-z]", "", (kind or "").lower())


MAX_CLASS_CHARS = 16


def class_token(classification: str) -> str:
    """Classification as one alnum token ("F16H 1/28" → "clsf16h128")."""
    return "cls" + re.sub(r"[^0-9a-z]", "", (classification or "").lower())[:MAX_CLASS_CHARS]


def class_tokens(classification: str) -> list[str]:
    """Every prefix of the classification token (clsf, clsf1, … clsf16h128), so a prefix
    filter ("F16H") is one exact token: a GIN prefix match over thousands of distinct
    full classifications was the slowest query of bench/search.py."""
    full = class_token(classification)
    return [full[:i] for i in range(4, len(full) + 1)]


def build_search_text(title: str, description: str | None, assets: Iterable) -> str:
    parts = [title or "", description or ""]
    facets = []
    for a in assets:
        parts += [a.title or "", a.abstract or "", a.registry_no or "", a.classification or ""]
        if getattr(a, "kind", None):
            facets.append(kind_token(a.kind))
        if a.classification:
            facets.extend(class_tokens(a.classification))
    seen: dict[str, None] = {}
    for tok in document_tokens(" ".join(parts)) + facets:
        seen.setdefault(tok, None)
    return " ".join(seen)


def refresh(session: Session, listing: Listing, assets: Iterable) -> None:
    listing.search_text = build_search_text(listing.title, listing.description, assets)
    if session.get_bind().dialect.name == "postgresql":
        # Computed by PostgreSQL in the INSERT/UPDATE itself.
        listing.search_tsv = search_vector(listing.search_text)


def tsquery_text(tokens: list[tuple[str, bool]]) -> str:
    # Tokens hold only letters, digits and CJK characters: nothing to escape.
    return " & ".join(f"{t}:*" if word else t for t, word in tokens)


def match(session: Session, q: str | None, kind: str | None = None,
          classification: str | None = None):
    """A WHERE clause for the query text and facets, or None when there is nothing to match."""
    tokens = query_tokens(q or "")
    if kind:
        tokens.append((kind_token(kind), False))
    if classification and class_token(classification) != "cls":
        tokens.append((class_token(classification), False))
    if not tokens:
        return None
    if session.get_bind().dialect.name == "postgresql":
        tsq = func.to_tsquery(literal_column("'simple'::regconfig"), tsquery_text(tokens))
        return Listing.search_tsv.op("@@")(tsq)
    return and_(*[Listing.search_text.like(f"%{t}%") for t, _word in tokens])


def has_cjk(text: str) -> bool:
    return bool(_IS_CJK.search(text or ""))
