"""BIB-1 use attributes and the CQL indexes they are (the Z39.50 server reads a query with
this map, a federated search writes one with it read in reverse)."""
from __future__ import annotations

USE = {4: "dc.title", 1003: "dc.creator", 1004: "bath.personalName", 1: "bath.personalName",
       2: "bath.corporateName", 3: "bath.conferenceName", 1002: "bath.name", 7: "bath.isbn", 8: "bath.issn",
       21: "dc.subject", 29: "dc.subject", 1016: "cql.serverChoice", 1035: "cql.serverChoice",
       12: "bath.localNumber", 30: "dc.date", 31: "dc.date", 1018: "dc.publisher", 54: "dc.language",
       1044: "bath.possessingInstitution", 5: "bath.seriesTitle", 13: "local.classification",
       16: "local.classification", 1007: "bath.standardIdentifier", 59: "local.place", 1031: "dc.type",
       63: "local.notes", 33: "bath.keyTitle", 9999: "local.available", 1032: "rec.id"}
