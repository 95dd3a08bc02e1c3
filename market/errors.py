"""DomainError and its codes → the API's error body."""
from __future__ import annotations


class DomainError(Exception):
    """A refused operation. Services raise it; the API renders it; nothing is written."""

    status = 409

    def __init__(self, code: str, message: str, status: int | None = None, **extra: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        if status is not None:
            self.status = status
        self.extra = extra

    def body(self) -> dict:
        err = {"code": self.code, "message": self.message}
        err.update(self.extra)
        return {"error": err}


class NotFound(DomainError):
    status = 404

    def __init__(self, what: str = "object") -> None:
        super().__init__("not_found", f"{what} not found")


class Forbidden(DomainError):
    status = 403

    def __init__(self, code: str = "forbidden", message: str = "not allowed") -> None:
        super().__init__(code, message)


class Invalid(DomainError):
    """Bad input: 422."""

    status = 422


class Conflict(DomainError):
    status = 409
