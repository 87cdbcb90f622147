"""`btcmacro brief --format pdf`: A4 pages, CJK fonts embedded, static charts, text that extracts
(issue 11). The PDFs are the session's real 2025-12-09 briefing (``rendered`` in conftest.py),
read back with pypdf.

Hand-checked figures: fred/WALCL 2025-12-03 = 6,535,781 millions ("$6.54T" / "6.54兆美元").
"""

from __future__ import annotations

import re

import pytest

pypdf = pytest.importorskip("pypdf")


def _fonts(reader) -> dict[str, bool]:
    """Base font name -> embedded (a FontFile stream in its descriptor, or its descendant's)."""
    out: dict[str, bool] = {}
    for page in reader.pages:
        res = page.get("/Resources") or {}
        fonts = res.get_object().get("/Font") or {}
        for ref in fonts.get_object().values():
            f = ref.get_object()
            desc = f.get("/FontDescriptor")
            if desc is None and f.get("/DescendantFonts"):
                desc = f["/DescendantFonts"][0].get_object().get("/FontDescriptor")
            desc = desc.get_object() if desc is not None else {}
            out[str(f.get("/BaseFont"))] = any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3"))
    return out


@pytest.mark.parametrize("lang", ["en", "zh-TW"])
def test_pdf_pages_fonts_and_text(rendered, lang):
    path = rendered[("pdf", lang)]
    data = path.read_bytes()
    assert data[:5] == b"%PDF-"
    reader = pypdf.PdfReader(path)
    # the client note takes a few pages, the analyst appendix the rest
    assert 8 <= len(reader.pages) <= 60
    for page in reader.pages:  # A4 portrait: 210 x 297 mm = 595.3 x 841.9 pt
        box = page.mediabox
        assert float(box.width) == pytest.approx(595.3, abs=1) and float(box.height) == pytest.approx(841.9, abs=1)
    fonts = _fonts(reader)
    assert fonts and all(fonts.values()), fonts  # every font is embedded
    first = reader.pages[0].extract_text()
    text = "\n".join(p.extract_text() for p in reader.pages[:4])
    if lang == "zh-TW":
        assert any(re.search(r"CJK|TC|Han|Hei|Ming", name) for name in fonts), fonts
        # Traditional Chinese glyph shapes: no Japanese or Simplified Chinese face (charts included)
        assert not [n for n in fonts if re.search(r"CJK-(JP|SC|KR)", n)], fonts
        assert "比特幣總經簡報（2025年12月9日）" in first
        assert "6.54兆美元" in text
    else:
        assert "Bitcoin macro briefing" in first
        assert "$6.54T" in text
    # static charts: vector drawings, no script in the file
    assert b"/JavaScript" not in data and b"/JS " not in data


def test_cli_writes_a_pdf_and_refuses_stdout(snapshot_store_path, tmp_path):
    import shutil

    from typer.testing import CliRunner

    from btcmacro.cli import app

    store = tmp_path / "store.duckdb"
    shutil.copy(snapshot_store_path, store)
    runner = CliRunner()
    res = runner.invoke(app, ["brief", "--as-of", "2025-12-09", "--format", "pdf", "--out", "-", "--store", str(store)])
    err = res.stderr.strip().splitlines()
    assert res.exit_code == 2 and len(err) == 1 and "PDF cannot be written to standard output" in err[0]
    out = tmp_path / "note.pdf"
    res = runner.invoke(app, ["brief", "--as-of", "2025-12-09", "--format", "pdf", "--lang", "zh-TW", "--out", str(out),
                              "--store", str(store)])
    assert res.exit_code == 0, res.output
    assert out.read_bytes()[:5] == b"%PDF-"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left behind
