"""Property test: 10,000 generated queries and parameter sets, never a server error.

Every answer must be HTTP 200 with well-formed XML whose root is an SRU response,
and none may carry diagnostic 1 (our own failure).  Generation is derandomized, so
a failure reproduces from the printed example.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from unioncat.config import load_config
from unioncat.sru_server import create_app
from unioncat.sru_server.app import SRUApp
from tests.support.demo_site import demo_site
from tests.support.wsgi import call

FRAGMENTS = ["dc.title", "dc.creator", "dc.date", "bath.isbn", "bath.possessingInstitution", "local.available",
             "cql.allRecords", "cql.resultSetId", "rec.id", "foo.bar", "dc.nonsense", "cql.serverChoice",
             "=", "==", "<>", "<", "<=", ">", ">=", "all", "any", "adj", "within", "encloses", "exact",
             "and", "or", "not", "prox", "(", ")", '"', "/", "\\", "^", "*", "?", "sortBy", "sort.descending",
             "stem", "relevant", "history", "comp*", "a*", "lian", "連城訣", "hongloumeng", "1990", "2000 2010",
             "true", "false", "CITY", "UNIV", "rAAAA", "1", "0", '"x y"', "''", ">", "dc", "M736a9c241586",
             "9573229315", "\x00", "\u200b", "&amp;", "<x>"]
CQL = st.one_of(st.lists(st.sampled_from(FRAGMENTS), max_size=12).map(" ".join),
                st.lists(st.sampled_from(FRAGMENTS), max_size=8).map("".join),
                st.text(max_size=60))
NUMBER = st.one_of(st.integers(-5, 2000).map(str), st.sampled_from(["", "abc", "1e3", "99999999999", " 3"]))
VALUES: dict[str, Any] = {
    "operation": st.sampled_from(["searchRetrieve", "scan", "explain", "", "update", "SEARCHRETRIEVE"]),
    "version": st.sampled_from(["1.1", "1.2", "2.0", "", "3.0", "1", "x"]),
    "query": CQL, "scanClause": CQL, "startRecord": NUMBER, "maximumRecords": st.sampled_from(
        ["0", "1", "3", "", "-1", "x", "101"]), "responsePosition": NUMBER, "maximumTerms": NUMBER,
    "recordSchema": st.sampled_from(["marcxml", "dc", "mods", "opacxml", "isohold", "", "nonsense",
                                     "info:srw/schema/1/marcxml-v1.1"]),
    "recordPacking": st.sampled_from(["xml", "string", "packed", "unpacked", "binary", ""]),
    "recordXMLEscaping": st.sampled_from(["xml", "string", "", "none"]),
    "sortKeys": st.sampled_from(["dc.date,,0", "dc.title", ",,,", "dc.subject,,1", "", "x y z"]),
    "stylesheet": st.sampled_from(["/s.xsl", 'a"b', "?>", ""]), "resultSetTTL": NUMBER,
    "queryType": st.sampled_from(["cql", "pqf", ""]),
    "facetLimit": st.sampled_from(["5:bath.possessingInstitution", "3", "2:dc.date,1:dc.type", "0:x", "a:b", ""]), "x-anything": st.text(max_size=10),
    "recordXPath": st.sampled_from(["", "/a"]), "httpAccept": st.sampled_from(["application/sru+xml", "text/html"]),
}
PARAMS = st.one_of(
    st.dictionaries(st.sampled_from(sorted(VALUES)), st.just(""), max_size=8).flatmap(
        lambda keys: st.fixed_dictionaries({k: VALUES[k] for k in keys})),
    st.dictionaries(st.text(max_size=8), st.text(max_size=20), max_size=4))
ROOTS = {f"{{{ns}}}{op}Response" for op in ("explain", "searchRetrieve", "scan")
         for ns in ("http://www.loc.gov/zing/srw/", "http://docs.oasis-open.org/ns/search-ws/sruResponse",
                    "http://docs.oasis-open.org/ns/search-ws/scan")}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> SRUApp:
    return create_app(load_config(str(demo_site(tmp_path_factory.mktemp("sru-fuzz"), feed=False))))


def _check(app: SRUApp, params: dict[str, str], method: str) -> None:
    if method == "GET":
        answer = call(app, list(params.items()))
    else:
        answer = call(app, method="POST", body=urlencode(params).encode("utf-8"))
    assert answer.status == "200 OK", (params, answer.status)
    root = etree.fromstring(answer.body)
    assert root.tag in ROOTS, root.tag
    assert "info:srw/diagnostic/1/1" not in answer.diagnostics(), (params, answer.body[:800])


@settings(max_examples=9_000, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(params=PARAMS, method=st.sampled_from(["GET", "POST"]))
def test_generated_parameter_sets_never_fail_the_server(app: SRUApp, params: dict[str, str], method: str) -> None:
    _check(app, params, method)


@settings(max_examples=1_000, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(query=CQL, version=st.sampled_from(["1.1", "1.2", "2.0"]))
def test_generated_queries_never_fail_the_server(app: SRUApp, query: str, version: str) -> None:
    _check(app, {"operation": "searchRetrieve", "version": version, "query": query, "maximumRecords": "2"}, "GET")


def test_raw_query_strings_with_broken_encoding(app: SRUApp) -> None:
    for raw in ("query=%ff%fe&operation=searchRetrieve", "%%%", "operation=searchRetrieve&query=%00",
                "version=1.2&version=2.0", "query=a&query=b&operation=searchRetrieve", "=&=&&"):
        answer = call(app, query_string=raw)
        assert answer.status == "200 OK" and etree.fromstring(answer.body).tag in ROOTS
        assert "info:srw/diagnostic/1/1" not in answer.diagnostics(), raw
