"""The one exception tree of unioncat.

Every error the package raises on purpose derives from :class:`UnioncatError`, so the
command line can turn any of them into one clear line and a non-zero exit::

    UnioncatError
     ├── ConfigError          bad or missing configuration (file, key path, what was expected)
     ├── StoreError           the record store cannot be opened or written
     ├── RecordError          one record cannot be read (the reader skips it and goes on)
     ├── FatalReadError       a stream cannot be read any further (file, byte offset)
     ├── HarvestError         a member's server failed us
 │    ├── TransportError       HTTP or socket failure after retries (url, reason)
 │    ├── OAIError             an OAI-PMH error code (one class per code)
 │    ├── RemoteDiagnostic     an SRU or Z39.50 diagnostic from the member's server
 │    └── Z3950Error           a Z39.50 protocol failure
     ├── DedupError
     ├── SearchIndexError     (never named IndexError: that would shadow the builtin)
     └── SRUDiagnostic        carries an SRU diagnostic number and details

Exceptions carry their context as attributes (source, location, position) so that
callers can log or store them without parsing messages.
"""
from __future__ import annotations


class UnioncatError(Exception):
    """Root of every error unioncat raises on purpose."""

    exit_code = 1


class ConfigError(UnioncatError):
    """The configuration file is missing, malformed or has a wrong value."""

    exit_code = 2

    def __init__(self, file: str, key: str, expected: str) -> None:
        self.file = file
        self.key = key
        self.expected = expected
        where = f"{file}: {key}" if key else file
        super().__init__(f"{where}: {expected}")


class StoreError(UnioncatError):
    """The record store cannot be opened, read or written."""


class RecordError(UnioncatError):
    """One record cannot be parsed; the stream it came from can go on."""

    def __init__(self, reason: str, *, position: int | None = None,
                 offset: int | None = None, raw: bytes = b"") -> None:
        self.reason = reason
        self.position = position
        self.offset = offset
        self.raw = raw
        super().__init__(reason)


class FatalReadError(UnioncatError):
    """A file or stream cannot be read any further."""

    def __init__(self, location: str, reason: str, offset: int | None = None) -> None:
        self.location = location
        self.reason = reason
        self.offset = offset
        at = f" at byte {offset}" if offset is not None else ""
        super().__init__(f"{location}{at}: {reason}")


class HarvestError(UnioncatError):
    """A member library's server could not be harvested."""


class TransportError(HarvestError):
    """The server could not be reached, or answered with an HTTP error, after retries."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


class OAIError(HarvestError):
    """An OAI-PMH error response; subclasses per error code (see OAI_ERRORS)."""

    code = "oaiError"

    def __init__(self, url: str, message: str = "") -> None:
        self.url = url
        self.message = message
        super().__init__(f"{url}: OAI-PMH error {self.code}: {message}".rstrip(": "))


class BadArgument(OAIError):
    code = "badArgument"


class BadResumptionToken(OAIError):
    code = "badResumptionToken"


class BadVerb(OAIError):
    code = "badVerb"


class CannotDisseminateFormat(OAIError):
    code = "cannotDisseminateFormat"


class IdDoesNotExist(OAIError):
    code = "idDoesNotExist"


class NoRecordsMatch(OAIError):
    code = "noRecordsMatch"


class NoMetadataFormats(OAIError):
    code = "noMetadataFormats"


class NoSetHierarchy(OAIError):
    code = "noSetHierarchy"


OAI_ERRORS: dict[str, type[OAIError]] = {cls.code: cls for cls in (
    BadArgument, BadResumptionToken, BadVerb, CannotDisseminateFormat, IdDoesNotExist,
    NoRecordsMatch, NoMetadataFormats, NoSetHierarchy)}


class RemoteDiagnostic(HarvestError):
    """A diagnostic from a member's SRU or Z39.50 server, with its URI or code."""

    def __init__(self, url: str, uri: str, message: str = "", details: str = "") -> None:
        self.url = url
        self.uri = uri
        self.details = details
        text = " ".join(p for p in (message, f"({details})" if details else "") if p)
        super().__init__(f"{url}: diagnostic {uri}{': ' + text if text else ''}")


class Z3950Error(HarvestError):
    """A Z39.50 association failed (refused Init, broken PDU, timeout)."""


class DedupError(UnioncatError):
    """Deduplication failed."""


class SearchIndexError(UnioncatError):
    """The search index cannot be built or queried."""


class SRUDiagnostic(UnioncatError):
    """An SRU diagnostic: number, details and message (info:srw/diagnostic/1/N)."""

    def __init__(self, number: int, details: str = "", message: str = "") -> None:
        self.number = number
        self.details = details
        self.message = message or details
        super().__init__(f"SRU diagnostic {number}: {self.message}")

    @property
    def uri(self) -> str:
        """Return the diagnostic URI."""
        return f"info:srw/diagnostic/1/{self.number}"


class Bib1Diagnostic(UnioncatError):
    """A Z39.50 BIB-1 diagnostic our Z39.50 target answers with: condition and addinfo."""

    def __init__(self, condition: int, addinfo: str = "") -> None:
        self.condition = condition
        self.addinfo = addinfo
        super().__init__(f"BIB-1 diagnostic {condition}" + (f": {addinfo}" if addinfo else ""))
