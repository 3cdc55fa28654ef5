"""Canned replies' CSV: what Excel opens right, what a spreadsheet would run, what is refused."""

from __future__ import annotations

import csv
import io

import pytest

from hub.domain.errors import InvalidInput
from hub.services.canned_csv import MAX_ROWS, CsvRow, Refusal, escape_cell, read, write

HEADER = "short_code,title,text,scope,team\r\n"


def test_an_export_is_utf8_with_a_bom_crlf_and_the_columns() -> None:
    data = write([["thx", "感谢", "谢谢您的耐心！\n祝您愉快。", "global", ""]])
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert text.startswith(HEADER)
    assert text.endswith("\r\n")
    assert list(csv.reader(io.StringIO(text, newline=""))) == [
        ["short_code", "title", "text", "scope", "team"],
        ["thx", "感谢", "谢谢您的耐心！\n祝您愉快。", "global", ""],
    ]


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://evil.test","点我")', '\'=HYPERLINK("http://evil.test","点我")'),
        ("+86 400 800 8888", "'+86 400 800 8888"),
        ("-1+1", "'-1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("'quoted'", "''quoted'"),
        ("退货流程 = 7 天", "退货流程 = 7 天"),
        ("a-b", "a-b"),
        ("", ""),
    ],
)
def test_export_escapes_cells_a_spreadsheet_would_run(cell: str, written: str) -> None:
    assert escape_cell(cell) == written
    [_, row] = list(csv.reader(io.StringIO(write([[cell] * 5]).decode("utf-8-sig"), newline="")))
    assert row == [written] * 5


TRICKY = [
    "=1+1",
    "+86 138 0013 8000",
    "- 第一步：寄回商品\n- 第二步：等待退款",
    "@所有人",
    "'=already quoted",
    "'",
    "''",
    "'plain'",
    '含 "引号", 逗号',
    "多行\r\n文本",
    "\t缩进",
    "{{contact.name}}，您好",
]


def test_an_export_reads_back_to_the_same_cells() -> None:
    rows = [[f"c{i}", cell, cell, "global", ""] for i, cell in enumerate(TRICKY)]
    parsed, refused = read(write(rows))
    assert refused == []
    assert [(r.title, r.text) for r in parsed] == [(cell.strip(), cell) for cell in TRICKY]
    assert [r.row for r in parsed] == list(range(2, 2 + len(TRICKY)))


def test_a_file_without_bom_in_another_column_order_reads_the_same() -> None:
    data = "Title,SHORT_CODE,Text\n退货流程,退货,请将商品寄回。\n".encode()
    assert read(data) == ([CsvRow(2, "退货", "退货流程", "请将商品寄回。", "", "")], [])


def test_blank_rows_are_skipped_and_rows_keep_their_spreadsheet_numbers() -> None:
    data = (HEADER + "a,A,x,,\r\n,,,,\r\n\r\nb,B,y,global,\r\n").encode()
    rows, refused = read(data)
    assert refused == []
    assert [(r.row, r.short_code) for r in rows] == [(2, "a"), (5, "b")]


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_a_formula_like_cell_refuses_its_row_with_the_reason(start: str) -> None:
    data = (HEADER + f"ok,OK,fine,,\r\nbad,Bad,{start}cmd|' /C calc'!A0,,\r\n").encode()
    rows, refused = read(data)
    assert [r.short_code for r in rows] == ["ok"]
    [refusal] = refused
    assert refusal.row == 3
    assert f"text starts with {start!r}" in refusal.reason
    assert "apostrophe" in refusal.reason


def test_the_exports_own_escape_is_taken_off_on_import() -> None:
    data = (HEADER + "'-list,'=title,'@text,,\r\n").encode()
    assert read(data) == ([CsvRow(2, "-list", "=title", "@text", "", "")], [])


def test_a_row_with_more_cells_than_columns_is_refused() -> None:
    data = (HEADER + "a,A,x,,,surplus\r\nb,B,y,,,\r\n").encode()
    rows, refused = read(data)
    assert [r.short_code for r in rows] == ["b"]  # empty surplus cells (Excel's) are fine
    assert refused == [Refusal(2, "6 cells, but the first row names 5 columns")]


def test_gbk_bytes_are_refused_with_what_to_do() -> None:
    data = (HEADER + "退货,退货流程,请将商品寄回。,,\r\n").encode("gbk")
    with pytest.raises(InvalidInput, match="not UTF-8") as caught:
        read(data)
    assert "GBK" in str(caught.value)
    assert "CSV UTF-8" in str(caught.value)


def test_utf16_is_refused_with_what_to_do() -> None:
    with pytest.raises(InvalidInput, match="UTF-16"):
        read((HEADER + "a,A,x,,\r\n").encode("utf-16"))


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("short_code,title,body", "unknown column 'body'"),
        ("short_code;title;text", "unknown column 'short_code;title;text'"),
        ("short_code,title", "names no 'text' column"),
        ("title,text,scope,team", "names no 'short_code' column"),
        ("short_code,title,text,text", "the column 'text' twice"),
        ("short_code,,title,text", "unknown column '(empty)'"),
    ],
)
def test_wrong_columns_are_refused_with_the_expected_ones(header: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match="short_code, title, text, scope, team") as caught:
        read(f"{header}\r\na,b,c\r\n".encode())
    assert reason in str(caught.value)


def test_trailing_empty_header_cells_are_ignored() -> None:
    rows, refused = read(b"short_code,title,text,,\r\na,A,x,,\r\n")
    assert (rows, refused) == ([CsvRow(2, "a", "A", "x", "", "")], [])


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"\xef\xbb\xbf", "empty"),
        (b"short_code,title,text\r\na,\x00,x\r\n", "NUL"),
        (b'short_code,title,text\r\na,"unclosed,x\r\n', "not valid CSV"),
        (b'short_code,title,text\r\na,"x"y,z\r\n', "not valid CSV"),
    ],
)
def test_files_that_are_no_csv_are_refused(data: bytes, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        read(data)


def test_too_many_rows_are_refused() -> None:
    data = (HEADER + "".join(f"c{i},T,x,,\r\n" for i in range(MAX_ROWS + 1))).encode()
    with pytest.raises(InvalidInput, match=f"more than {MAX_ROWS} rows"):
        read(data)
    rows, _ = read((HEADER + "".join(f"c{i},T,x,,\r\n" for i in range(MAX_ROWS))).encode())
    assert len(rows) == MAX_ROWS


def test_cells_are_trimmed_but_text_is_kept_as_written() -> None:
    rows, _ = read((HEADER + ' thx , 感谢 ,"  两个空格开头\n",  GLOBAL ,  Support  \r\n').encode())
    assert rows == [CsvRow(2, "thx", "感谢", "  两个空格开头\n", "global", "Support")]
