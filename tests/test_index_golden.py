"""Golden tests: fixture records to index documents; CQL to engine query objects."""
from __future__ import annotations

from pathlib import Path

import tantivy
from whoosh import query as wq

from unioncat.cql import parse
from unioncat.index.engine import schema
from unioncat.index.fields import document_fields, record_parts
from unioncat.index.query import TantivyBuilder, WhooshBuilder
from tests.conftest import MARC, read_marc


def doc_of(path: Path, fmt: str) -> tuple[dict[str, list[str]], object]:
    [item, *_] = read_marc(path, fmt)[0]
    parts = record_parts(item.raw, item.syntax, item.charset, fmt)
    return document_fields([parts]), parts


def test_golden_marc21_document() -> None:
    fields, parts = doc_of(MARC / "loc_utf8_100.mrc", "marc21")
    assert {k: v for k, v in fields.items() if k != "any"} == {
        "title": ["botanical", "materia", "medica", "and", "pharmacology", "drugs", "considered", "from",
                  "a", "botanical", "pharmaceutical", "physiological", "therapeutical", "and",
                  "toxicological", "standpoint"],
        "author": ["aurand", "samuel", "herbert", "1854"],
        "subject": ["botany", "medical", "homeopathy", "materia", "medica", "and", "therapeutics"],
        "publisher": ["p", "h", "mallen", "company"], "place": ["chicago"], "series": [],
        "notes": ["homeopathic", "formulae"], "classification": ["rx671", "a92"], "language": [],
        "isbn": [], "issn": [], "ids": ["00000002", "ocolc", "5853149", "00000002"], "pinyin": [],
        # browse headings: folded form, US, as catalogued (ISBD marks at the end dropped)
        "title_heading": ["botanical materia medica and pharmacology drugs considered from a botanical "
                          "pharmaceutical physiological therapeutical and toxicological standpoint\x1f"
                          "Botanical materia medica and pharmacology; drugs considered from a botanical, "
                          "pharmaceutical, physiological, therapeutical and toxicological standpoint"],
        "author_heading": ["aurand samuel herbert 1854\x1fAurand, Samuel Herbert, 1854-"],
        "subject_heading": ["botany medical\x1fBotany, Medical",
                            "homeopathy materia medica and therapeutics\x1fHomeopathy Materia medica and therapeutics"],
        "topic": ["Botany, Medical", "Homeopathy"]}  # 650 $a as catalogued: the subject facet
    assert (parts.year, parts.language, parts.material) == (1899, "eng", "am")  # type: ignore[attr-defined]
    assert len(fields["any"]) == 51 and {"homeopathic", "chicago", "5853149"} <= set(fields["any"])


def test_golden_cnmarc_document() -> None:
    fields, parts = doc_of(MARC / "cnmarc_gb18030_from_loc.iso", "cnmarc")
    assert fields["title"] == ["连城", "城诀"]  # Traditional 連城訣 folded to Simplified bigrams
    assert fields["author"] == ["金庸"]  # LoC's 金　庸: the space inside CJK means nothing
    assert fields["isbn"] == ["9789573229315", "9573229315"]
    assert fields["place"] == ["台北", "北市"] and fields["language"] == ["chi"]
    assert {"lianchengjue", "lian", "jinyong"} <= set(fields["pinyin"])
    assert fields["title_heading"] == ["连城诀\x1f連城訣"] and fields["author_heading"] == ["金庸\x1f金 庸"]
    assert parts.year == 2000  # type: ignore[attr-defined]


def test_cql_to_whoosh_query_objects() -> None:
    build = WhooshBuilder()
    assert build.query(parse("dc.title=history")) == wq.Term("title", "history")
    assert build.query(parse('dc.title="red mansions"')) == wq.Phrase("title", ["red", "mansions"])
    assert build.query(parse("dc.title=紅樓夢")) == wq.Phrase("title", ["红楼", "楼梦"])
    assert build.query(parse("dc.title=a1 and dc.creator=b2")) == wq.And([wq.Term("title", "a1"),
                                                                          wq.Term("author", "b2")])
    assert build.query(parse("dc.title=a1 or dc.title=b2")) == wq.Or([wq.Term("title", "a1"),
                                                                       wq.Term("title", "b2")])
    assert build.query(parse("dc.title=a1 not dc.title=b2")) == wq.And([wq.Term("title", "a1"),
                                                                        wq.Not(wq.Term("title", "b2"))])
    assert build.query(parse("dc.date>=1990")) == wq.NumericRange("year", 1990, 9999)
    assert build.query(parse("dc.date<1990")) == wq.NumericRange("year", 0, 1990, endexcl=True)
    assert build.query(parse("dc.title=comp*")) == wq.Regex("title", "comp.*")
    assert build.query(parse('dc.title all "red mansions"')) == wq.And([wq.Term("title", "red"),
                                                                        wq.Term("title", "mansions")])
    assert build.query(parse("bath.isbn=957-3229-31-5")) == wq.Term("isbn", "9789573229315")
    assert build.query(parse("bath.possessingInstitution=city")) == wq.Term("member", "CITY")


def test_cql_to_tantivy_query_objects() -> None:
    build = TantivyBuilder(schema())
    query = build.query(parse("dc.title=history and dc.date>=1990"))
    assert isinstance(query, tantivy.Query)
    text = repr(query)
    assert "history" in text and "1990" in text and "Must" in text
    assert "comp" in repr(build.query(parse("dc.title=comp*")))
