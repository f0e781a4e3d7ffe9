"""The exceptions of the crm package, one per library error code.

The extension raises them (crm.i looks up ``_make`` here), so they are plain
Python classes: they can be subclassed, pickled and caught by their
built-in bases where one fits (``InvalidInputError`` is a ``ValueError``,
``NotFoundError`` a ``LookupError``).
"""

__all__ = [
    "Error",
    "NotFoundError",
    "ExistsError",
    "InvalidInputError",
    "ConflictError",
    "PermissionDeniedError",
    "StorageError",
    "BusyError",
    "OutOfMemoryError",
]


class Error(Exception):
    """A failure reported by crmcore.

    ``code`` is the library's negative ``CRM_E*`` code; ``message`` (also
    ``str(e)``) says what was wrong and where, naming the field or JSON path
    at fault, e.g. ``"lead.phone: expected a string"``.
    """

    code = 0
    name = "error"

    def __init__(self, message="", code=None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self):
        return self.message

    def __reduce__(self):
        return (type(self), (self.message, self.code))


class NotFoundError(Error, LookupError):
    """The record does not exist, or is outside the handle's dealer scope."""

    code = -1
    name = "not found"


class ExistsError(Error):
    """A record with that identity already exists."""

    code = -2
    name = "exists"


class InvalidInputError(Error, ValueError):
    """The caller's input is wrong; the message names the field."""

    code = -3
    name = "invalid input"


class ConflictError(Error):
    """The operation conflicts with the current state (e.g. commit with no
    transaction open, or a closed database)."""

    code = -4
    name = "conflict"


class PermissionDeniedError(Error):
    """The handle's dealer scope does not allow the operation."""

    code = -5
    name = "permission denied"


class StorageError(Error):
    """The storage failed, or holds something this library refuses."""

    code = -6
    name = "storage"


class BusyError(Error):
    """The storage is locked by someone else; retry later."""

    code = -7
    name = "busy"


class OutOfMemoryError(Error):
    """The library ran out of memory."""

    code = -8
    name = "out of memory"


_BY_CODE = {
    cls.code: cls
    for cls in (
        NotFoundError,
        ExistsError,
        InvalidInputError,
        ConflictError,
        PermissionDeniedError,
        StorageError,
        BusyError,
        OutOfMemoryError,
    )
}


def _make(code, message):
    """The exception for a library status (called from the extension)."""
    return _BY_CODE.get(code, Error)(message, code)
