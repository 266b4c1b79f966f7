"""Property test: generated Z39.50 requests (RPN trees with arbitrary BIB-1 attributes and
terms, Presents, Scans, Sorts) never make a session fail.  Every request is encoded to BER
and decoded again first, so only PDUs a client could really send are tried; the answer
must be the response PDU for the request (never a Close), and encodable."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from unioncat.config import load_config
from unioncat.serving.resources import Resources
from unioncat.z3950.codec import SYNTAXES, bits, decode, encode
from unioncat.z3950_server.session import Session
from tests.support.demo_site import demo_site

WORDS = ["lian", "history", "comp", "smith", "1990", "2000", "CITY", "UNIV", "true", "", "a", "連城訣",
         "9573229315", "ENU00000120", "*", "#", "x y z"]
ATTRIBUTE = st.fixed_dictionaries({
    "attributeType": st.integers(1, 9),
    "attributeValue": st.one_of(
        st.tuples(st.just("numeric"), st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7, 12, 21, 30, 31, 54, 100, 101, 102,
                                                       103, 104, 105, 108, 109, 1003, 1016, 1044, 9999, 70000])),
        st.tuples(st.just("complex"), st.fixed_dictionaries({"list": st.lists(
            st.one_of(st.tuples(st.just("string"), st.sampled_from(["_ALLRECORDS", "dc.title", "x.y", ""])),
                      st.tuples(st.just("numeric"), st.integers(0, 5))), min_size=0, max_size=2)})))})
TERM = st.one_of(st.tuples(st.just("general"), st.one_of(st.sampled_from(WORDS).map(str.encode),
                                                         st.binary(max_size=12))),
                 st.tuples(st.just("numeric"), st.integers(-5, 3000)),
                 st.tuples(st.just("characterString"), st.sampled_from(WORDS)))
OPERAND = st.one_of(
    st.tuples(st.just("attrTerm"), st.fixed_dictionaries({"attributes": st.lists(ATTRIBUTE, max_size=4),
                                                          "term": TERM})),
    st.tuples(st.just("resultSet"), st.sampled_from(["default", "a", "nosuch"])))
RPN = st.recursive(
    st.tuples(st.just("op"), OPERAND),
    lambda inner: st.tuples(st.just("rpnRpnOp"), st.fixed_dictionaries({
        "rpn1": inner, "rpn2": inner, "op": st.tuples(st.sampled_from(["and", "or", "and-not"]), st.none())})),
    max_leaves=6)
SEARCH = st.fixed_dictionaries({
    "smallSetUpperBound": st.just(0), "largeSetLowerBound": st.just(1), "mediumSetPresentNumber": st.just(0),
    "replaceIndicator": st.booleans(), "resultSetName": st.sampled_from(["default", "a", "b"]),
    "databaseNames": st.sampled_from([["Default"], ["default"], ["Other"], ["Default", "Default"]]),
    "query": st.one_of(st.tuples(st.just("type-1"), st.fixed_dictionaries({
        "attributeSet": st.sampled_from(["1.2.840.10003.3.1", "1.2.840.10003.3.2"]), "rpn": RPN})),
        st.tuples(st.just("type-104"), st.fixed_dictionaries({
            "direct-reference": st.sampled_from(["1.2.840.10003.16.2", "1.2.3"]),
            "encoding": st.tuples(st.just("octet-aligned"), st.sampled_from(
                [b"dc.title=lian", b"(((", b"a prox b", b"dc.date>=1990 sortBy dc.date", b""]))})))})
PRESENT = st.fixed_dictionaries({
    "resultSetId": st.sampled_from(["default", "a", "nosuch"]), "resultSetStartPoint": st.integers(-1, 30),
    "numberOfRecordsRequested": st.integers(-1, 12),
    "recordComposition": st.tuples(st.just("simple"), st.tuples(
        st.just("genericElementSetName"), st.sampled_from(["F", "B", "dc", "mods", "opacxml", "isohold", "Q"]))),
    "preferredRecordSyntax": st.sampled_from(sorted(set(SYNTAXES.values())) + ["1.2.3.4"])})
SCAN = st.fixed_dictionaries({
    "databaseNames": st.sampled_from([["Default"], ["Other"]]),
    "termListAndStartPoint": st.fixed_dictionaries({"attributes": st.lists(ATTRIBUTE, max_size=3), "term": TERM}),
    "numberOfTermsRequested": st.integers(-1, 200), "preferredPositionInResponse": st.integers(-1, 30)})
SORT = st.fixed_dictionaries({
    "inputResultSetNames": st.sampled_from([["default"], ["a", "b"], ["nosuch"]]),
    "sortedResultSetName": st.sampled_from(["default", "s"]),
    "sortSequence": st.lists(st.fixed_dictionaries({
        "sortElement": st.tuples(st.just("generic"), st.one_of(
            st.tuples(st.just("sortfield"), st.sampled_from(["title", "date", "x"])),
            st.tuples(st.just("sortAttributes"), st.fixed_dictionaries({
                "id": st.just("1.2.840.10003.3.1"), "list": st.lists(ATTRIBUTE, max_size=2)})))),
        "sortRelation": st.sampled_from([0, 1, 3]), "caseSensitivity": st.sampled_from([0, 1])}), min_size=1,
        max_size=2)})
REQUEST = st.one_of(st.tuples(st.just("searchRequest"), SEARCH), st.tuples(st.just("presentRequest"), PRESENT),
                    st.tuples(st.just("scanRequest"), SCAN), st.tuples(st.just("sortRequest"), SORT))
ANSWERS = {"searchRequest": "searchResponse", "presentRequest": "presentResponse", "scanRequest": "scanResponse",
           "sortRequest": "sortResponse"}


@pytest.fixture(scope="module")
def session_factory(tmp_path_factory: pytest.TempPathFactory) -> Any:
    cfg = load_config(str(demo_site(tmp_path_factory.mktemp("z3950-fuzz"), feed=False)))
    res = Resources(cfg)

    def make() -> Session:
        session = Session(res, cfg, "fuzz")
        session.handle("initRequest", {"protocolVersion": bits([0, 1, 2], 3), "options": bits([0, 1, 7, 8], 16),
                                       "preferredMessageSize": 1 << 20, "exceptionalRecordSize": 1 << 20})
        return session
    return make


@settings(max_examples=3_000, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(requests=st.lists(REQUEST, min_size=1, max_size=4))
def test_generated_requests_never_fail_a_session(session_factory: Any, requests: list[tuple[str, Any]]) -> None:
    session = session_factory()
    for kind, value in requests:
        try:
            kind, value = decode(encode(kind, value))  # only what BER can carry
        except Exception:  # hypothesis made a value the ASN.1 cannot encode: not a request
            continue
        answer_kind, answer = session.handle(kind, value)
        assert answer_kind == ANSWERS[kind], (kind, value, answer)
        encode(answer_kind, answer)


def test_the_fuzz_fixture_is_the_demo(session_factory: Any) -> None:
    session = session_factory()
    kind, answer = session.handle("searchRequest", {
        "smallSetUpperBound": 0, "largeSetLowerBound": 1, "mediumSetPresentNumber": 0, "replaceIndicator": True,
        "resultSetName": "default", "databaseNames": ["Default"],
        "query": ("type-1", {"attributeSet": "1.2.840.10003.3.1", "rpn": ("op", ("attrTerm", {
            "attributes": [{"attributeType": 1, "attributeValue": ("numeric", 4)}], "term": ("general", b"lian")}))})})
    assert kind == "searchResponse" and answer["resultCount"] == 4
    assert Path(str(session.cfg.store.path)).exists()
