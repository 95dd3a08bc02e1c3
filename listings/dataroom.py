"""Data room: documents stored outside the web root under a random key; the public
summary for everyone, the rest only after the viewer accepts the listing's NDA."""
from __future__ import annotations

import hashlib
import os
import re
import secrets

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from market import audit
from market.accounts.models import User
from market.errors import Forbidden, Invalid, NotFound
from market.timeutil import utcnow

from .models import Listing, ListingDocument, NdaAcceptance, Watch
from .services import can_see, is_seller, valid_id

# Magic bytes decide the type, never the file name or the browser's claim.
SIGNATURES = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
)
DEFAULT_LIMIT = 20 * 1024 * 1024


def sniff(head: bytes) -> tuple[str, str] | None:
    for magic, ctype, ext in SIGNATURES:
        if head.startswith(magic):
            return ctype, ext
    return None


def download_name(doc: ListingDocument) -> str:
    """The name a download gets: the uploaded name's stem with the extension of the type
    the bytes were checked to be ("polyglot.html" that is a PDF downloads as
    "polyglot.pdf", never as something a browser would run)."""
    ext = next((e for _m, ctype, e in SIGNATURES if ctype == doc.content_type), "")
    stem, _dot, _old = doc.filename.rpartition(".")
    return (stem if stem else doc.filename) + ext


def size_limit() -> int:
    return int(current_app.config.get("MAX_CONTENT_LENGTH") or DEFAULT_LIMIT)


def _folder() -> str:
    folder = current_app.config["UPLOAD_FOLDER"]
    os.makedirs(folder, exist_ok=True)
    return folder


def safe_name(filename: str) -> str:
    name = os.path.basename((filename or "").replace("\\", "/")).strip()
    name = re.sub(r"[\x00-\x1f<>:\"/\\|?*]", "_", name)[:200]
    return name or "document"


def can_manage(user: User | None, listing: Listing) -> bool:
    return user is not None and (user.role == "operator" or is_seller(user, listing))


def upload(session: Session, user: User, listing: Listing, filename: str, data: bytes,
           public: bool) -> ListingDocument:
    if not can_manage(user, listing):
        raise Forbidden("forbidden", "only the seller or an operator adds documents")
    if not data:
        raise Invalid("empty_file", "the file is empty")
    if len(data) > size_limit():
        raise Invalid("file_too_large", f"files may be at most {size_limit() // (1024 * 1024)} MB")
    kind = sniff(data[:16])
    if kind is None:
        raise Invalid("unsupported_file_type", "only PDF, PNG and JPEG files are accepted")
    ctype, ext = kind
    key = secrets.token_hex(16) + ext
    path = os.path.join(_folder(), key)
    with open(path, "xb") as fh:
        fh.write(data)
    doc = ListingDocument(listing_id=listing.id, filename=safe_name(filename),
                          content_type=ctype, size=len(data),
                          sha256=hashlib.sha256(data).hexdigest(), storage_key=key,
                          public=bool(public), uploaded_by=user.id, uploaded_at=utcnow())
    session.add(doc)
    session.flush()
    audit.record(session, "listing.document", "listing", listing.id, actor_id=user.id,
                 after={"document_id": doc.id, "filename": doc.filename, "public": doc.public,
                        "sha256": doc.sha256})
    return doc


def documents(session: Session, listing_id: int) -> list[ListingDocument]:
    return list(session.scalars(select(ListingDocument)
                                .where(ListingDocument.listing_id == listing_id)
                                .order_by(ListingDocument.public.desc(), ListingDocument.id)))


def nda_accepted(session: Session, user: User | None, listing_id: int) -> NdaAcceptance | None:
    if user is None:
        return None
    return session.scalar(select(NdaAcceptance).where(NdaAcceptance.listing_id == listing_id,
                                                      NdaAcceptance.user_id == user.id))


def accept_nda(session: Session, user: User, listing: Listing) -> NdaAcceptance:
    if not can_see(user, listing):
        raise NotFound("listing")
    row = nda_accepted(session, user, listing.id)
    if row is not None:
        return row
    row = NdaAcceptance(listing_id=listing.id, user_id=user.id, accepted_at=utcnow())
    session.add(row)
    session.flush()
    audit.record(session, "listing.nda_accept", "listing", listing.id, actor_id=user.id,
                 after={"user_id": user.id, "accepted_at": row.accepted_at})
    return row


def may_open(session: Session, user: User | None, listing: Listing, doc: ListingDocument) -> bool:
    if doc.public:
        return True
    if can_manage(user, listing):
        return True
    return nda_accepted(session, user, listing.id) is not None


def open_document(session: Session, user: User | None, listing: Listing,
                  doc_id: int) -> tuple[ListingDocument, str]:
    doc = session.get(ListingDocument, doc_id) if valid_id(doc_id) else None
    if doc is None or doc.listing_id != listing.id:
        raise NotFound("document")
    if not may_open(session, user, listing, doc):
        raise Forbidden("nda_required", "accept the listing's NDA to open the data room")
    if not doc.public and user is not None and not can_manage(user, listing):
        audit.record(session, "listing.document_view", "listing", listing.id, actor_id=user.id,
                     after={"document_id": doc.id})
    return doc, os.path.join(_folder(), doc.storage_key)


# ---------------------------------------------------------------- watchlist

def is_watching(session: Session, user: User | None, listing_id: int) -> bool:
    if user is None:
        return False
    return session.scalar(select(Watch.id).where(Watch.user_id == user.id,
                                                 Watch.listing_id == listing_id)) is not None


def toggle_watch(session: Session, user: User, listing: Listing) -> bool:
    """Returns True when the listing is now watched."""
    if not can_see(user, listing):
        raise NotFound("listing")
    row = session.scalar(select(Watch).where(Watch.user_id == user.id,
                                             Watch.listing_id == listing.id))
    if row is not None:
        session.delete(row)
        session.flush()
        return False
    session.add(Watch(user_id=user.id, listing_id=listing.id, created_at=utcnow()))
    session.flush()
    return True


def watchlist(session: Session, user: User) -> list[Listing]:
    return list(session.scalars(select(Listing).join(Watch, Watch.listing_id == Listing.id)
                                .where(Watch.user_id == user.id).order_by(Watch.id.desc())))
