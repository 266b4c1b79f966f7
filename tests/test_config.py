"""Config errors name the file, the key path and what was expected; the CLI exits 2."""
from __future__ import annotations

from pathlib import Path

import pytest

from unioncat.config import load_config
from unioncat.errors import ConfigError

GOOD_SOURCE = 'id = "CITY"\nname = "City"\ntype = "file"\npath = "drop.mrc"\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "unioncat.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text, key, expected", [
    ('[[source]]\nid = "bad id!"\nname = "x"\ntype = "file"\n', "source[1].id",
     "expected a short code matching [A-Za-z0-9_-]+, got 'bad id!'"),
    ('[[source]]\nid = "A"\ntype = "file"\n', "source[1].name", "missing"),
    ('[oai]\nadmin_email = "root@localhost"\n', "oai.admin_email", "whose domain has a dot"),
    ('[oai]\nbase_path = "/sru"\n', "oai.base_path", "other than server.base_path"),
    ('[oai]\nrepository_identifier = "my repo"\n', "oai.repository_identifier", "expected a domain name"),
    ('[[source]]\n' + GOOD_SOURCE + 'colour = "red"\n', "source[1].colour", "unknown key"),
    ('[[source]]\n' + GOOD_SOURCE + '[[source]]\n' + GOOD_SOURCE, "source[2].id",
     "duplicate id 'CITY' (also source[1])"),
    ('[server]\nport = "80"\n', "server.port", "expected an integer, got '80'"),
    ('[server]\nport = true\n', "server.port", "expected an integer, got True"),
    ('[store]\npath = 3\n', "store.path", "expected a string, got 3"),
    ('[[source]]\nid = "A"\nname = "x"\ntype = "ftp"\n', "source[1].type",
     "expected one of file, oai, sru, z3950, got 'ftp'"),
    ('[[source]]\nid = "A"\nname = "x"\ntype = "oai"\n', "source[1].url", "missing"),
    # a file source with no drop: `run` skipped it silently and `status` said nothing
    ('[[source]]\nid = "A"\nname = "x"\ntype = "file"\n', "source[1].path", "missing; type file needs its drop"),
    ('[[source]]\n' + GOOD_SOURCE + 'distances = { DIST = "far" }\n', "source[1].distances.DIST",
     "expected a distance of 0 or more, got 'far'"),
    ('[[source]]\n' + GOOD_SOURCE + 'max_delete_fraction = 1.5\n', "source[1].max_delete_fraction",
     "expected a fraction from 0 to 1, got 1.5"),
    ('[[source]]\nid = "A"\nname = "x"\ntype = "z3950"\nurl = "http://x"\n', "source[1].url",
     "expected host:port/database"),
    ('[[source]]\n' + GOOD_SOURCE + 'encoding = "klingon"\n', "source[1].encoding",
     "expected auto, marc-8 or a known character set"),
    ('[[source]]\n' + GOOD_SOURCE + 'format = "dublin"\n', "source[1].format",
     "expected one of marc21, unimarc, cnmarc"),
    ('[[source]]\n' + GOOD_SOURCE + 'holdings = "953"\n', "source[1].holdings", "expected a preset"),
    ('[[source]]\n' + GOOD_SOURCE + 'holdings = { barcode = "p" }\n', "source[1].holdings.tag",
     "missing"),
    ('[[source]]\n' + GOOD_SOURCE + 'holdings = { tag = "852", barcode = "pp" }\n',
     "source[1].holdings.barcode", "expected one subfield code"),
    ('[[source]]\n' + GOOD_SOURCE + 'dedup_within_source = "yes"\n',
     "source[1].dedup_within_source", "expected true or false"),
    ('[indexes]\npath = "x"\n', "indexes", "unknown key"),
])
def test_config_errors_name_file_key_and_expectation(tmp_path: Path, text: str, key: str,
                                                     expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    assert err.value.file == str(path)
    assert err.value.key == key
    assert expected in err.value.expected
    assert str(err.value).startswith(f"{path}: {key}: ")


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(str(write(tmp_path, "[store\n")))
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(str(tmp_path / "absent.toml"))


def test_defaults_relative_paths_and_holdings_table(tmp_path: Path) -> None:
    cfg = load_config(str(write(tmp_path, '[[source]]\n' + GOOD_SOURCE +
                                'encoding = "GBK"\nholdings = { tag = "905", barcode = "b" }\n')))
    assert cfg.store.path == str(tmp_path / "unioncat.db")
    assert cfg.index.path == str(tmp_path / "index")
    assert (cfg.server.host, cfg.server.port) == ("127.0.0.1", 8765)
    src = cfg.source("CITY")
    assert src.path == str(tmp_path / "drop.mrc")
    assert src.encoding == "gbk" and src.format == "marc21" and src.dedup_within_source is False
    assert src.holdings == {"tag": "905", "barcode": "b"}


def test_config_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[[source]]\n' + GOOD_SOURCE)
    monkeypatch.setenv("UNIONCAT_CONFIG", str(path))
    assert load_config(None).sources[0].id == "CITY"


def test_cli_prints_one_line_and_exits_2(tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, '[[source]]\nid = "bad id!"\n')
    result = run_cli(path, "status")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("unioncat: error: ")
    assert "source[1].id" in lines[0] and "Traceback" not in result.output
