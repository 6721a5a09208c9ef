"""The daily brief and the quarterly analysis as Word and PDF, as a leader downloads them:
python-docx reads the .docx back (its figures are the KPI rule's), the PDF turns into a PNG
with pdftoppm, a bad range or format is a coded 400, and only the console's roles get one."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from dashboard.geo.lookup import GridHit
from dashboard.grids.views import measure_text
from dashboard.incidents import kpis
from dashboard.messages import IncidentReport
from dashboard.screens.brief import FIGURE_COLUMNS
from dashboard.timeutil import LOCAL_TZ, utcnow
from datasources.sql import models as m
from datasources.sql.kpis import read_facts
from tests.auth_helpers import sign_in
from tests.clock import earlier_today

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _docx(data: bytes):
    from docx import Document

    return Document(io.BytesIO(data))


def _some_work_orders(services, now):
    store = services.store
    rep = {"source": "hotline", "category": "water", "lon": 104.45, "lat": 30.55}
    for k in range(3):
        inc = store.create_incident(IncidentReport(title=f"停水 {k}", **rep),
                                    GridHit("G3-03", "V01"),
                                    now=earlier_today(now, 30 + k)).incident
        if k == 0:
            store.act(inc.id, "accept", "值班员王")
    return store


def test_the_brief_as_word_carries_the_kpi_rules_figures(client):
    services = client.zn
    now = utcnow()
    _some_work_orders(services, now)
    sign_in(client, services, "领导甲", "leader")
    today = now.astimezone(LOCAL_TZ).date()
    r = client.get(f"/api/brief/{today.isoformat()}.docx")
    assert r.status_code == 200, r.text
    assert f'filename="brief-{today.isoformat()}.docx"' in r.headers["content-disposition"]
    doc = _docx(r.content)
    texts = [p.text for p in doc.paragraphs]
    assert f"值班日报（{today.isoformat()}）" in texts
    assert "一、工单概况" in texts and "五、物资预警" in texts
    figures = doc.tables[0]
    head = [c.text for c in figures.rows[0].cells]
    assert head[:3] == ["受理", "办结", "办结率"]
    w = kpis.day_window(today, utcnow())
    with services.store.session() as s:
        fig = kpis.figures(read_facts(s, w), w)
    counts = {**fig.as_dict(), "still_open": fig.still_open}
    want = [measure_text("received" if k == "still_open" else k, counts[k], "zh")
            for k, _ in FIGURE_COLUMNS]
    assert [c.text for c in figures.rows[1].cells] == want
    assert figures.rows[1].cells[0].text == str(fig.received) and fig.received >= 3
    with services.store.session() as s:
        audit = s.scalars(select(m.AuditEntry).where(m.AuditEntry.action == "brief.download"))
        assert [(a.actor, a.target) for a in audit] == [("领导甲", today.isoformat())]
    en = _docx(client.get(f"/api/brief/{today.isoformat()}.docx?lang=en").content)
    assert f"Daily duty brief ({today.isoformat()})" in [p.text for p in en.paragraphs]


def test_the_analysis_as_word_and_pdf(client, tmp_path):
    services = client.zn
    now = utcnow()
    _some_work_orders(services, now)
    sign_in(client, services, "值班员乙", "officer")
    q = f"{now.astimezone(LOCAL_TZ).year}Q{(now.astimezone(LOCAL_TZ).month - 1) // 3 + 1}"
    r = client.get("/api/analysis.docx", params={"quarter": q})
    assert r.status_code == 200, r.text
    doc = _docx(r.content)
    texts = [p.text for p in doc.paragraphs]
    assert f"事件分析研判报告（{q}）" in texts
    assert any(x.startswith("四、热点区域") for x in texts)
    overview = doc.tables[0]
    assert [c.text for c in overview.rows[0].cells][:4] == ["指标", "本期", "上期", "去年同期"]
    assert overview.rows[1].cells[0].text == "受理"
    assert int(overview.rows[1].cells[1].text) >= 3
    r = client.get("/api/analysis.pdf", params={"quarter": q, "lang": "zh"})
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert r.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "analysis.pdf"
    pdf.write_bytes(r.content)
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm, "pdftoppm is missing: tools/ensure_browser.sh installs poppler-utils"
    subprocess.run([pdftoppm, "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf),
                    str(tmp_path / "page")], check=True, timeout=60)
    png = next(tmp_path.glob("page*.png"))
    assert png.stat().st_size > 10_000  # a drawn page, not a blank one
    r = client.get("/api/analysis.pdf", params={"from": "2026-10-01", "to": "2026-10-31",
                                                "lang": "en"})
    assert r.status_code == 200 and r.content.startswith(b"%PDF")


@pytest.mark.parametrize(("params", "code", "zh", "en"), [
    ({"quarter": "2026Q9"}, "bad_quarter", "季度", "Quarter"),
    ({"from": "0001-01-01", "to": "2026-01-01"}, "bad_date", "有效日期", "not a valid date"),
    ({"from": "2026-01-01", "to": "9999-12-31"}, "bad_date", "有效日期", "not a valid date"),
    ({"from": "2026-03-01", "to": "2026-02-01"}, "range_reversed", "早于", "before"),
    ({"quarter": "2099Q1"}, "day_ahead", "尚未到来", "has not happened"),
])
def test_a_bad_range_is_a_coded_400_in_the_readers_language(client, params, code, zh, en):
    sign_in(client, client.zn, "领导丙", "leader")
    for lang, word in (("zh", zh), ("en", en)):
        r = client.get("/api/analysis.pdf", params={**params, "lang": lang})
        assert r.status_code == 400, r.text
        assert r.json()["error"] == code and word in r.json()["message"]


def test_a_bad_format_or_day_is_a_400_and_a_wall_gets_no_file(client):
    services = client.zn
    sign_in(client, services, "领导丁", "leader")
    r = client.get("/api/brief/2026-11-01.xls", params={"lang": "en"})
    assert r.status_code == 400 and r.json()["error"] == "bad_format"
    r = client.get("/api/brief/9999-12-31.pdf")
    assert r.status_code == 400 and r.json()["error"] == "bad_date"
    for role in ("display", "grid_worker"):
        sign_in(client, services, f"u-{role}", role)
        assert client.get("/api/analysis.docx", params={"quarter": "2026Q4"}).status_code == 403
        assert client.get("/api/brief/2026-11-01.pdf").status_code == 403
    client.cookies.clear()
    assert client.get("/api/analysis.pdf", params={"quarter": "2026Q4"}).status_code in (401,
                                                                                          403)


def test_keep_one_pdf_page_in_the_docs(client, tmp_path):
    """The analysis's first PDF page at 60 dpi, kept in docs/ to look at (Chinese glyphs,
    not boxes): rewritten only with ZN_UPDATE_DOCS=1, so a test run leaves the tree clean."""
    services = client.zn
    _some_work_orders(services, utcnow())
    sign_in(client, services, "领导戊", "leader")
    q = f"{utcnow().astimezone(LOCAL_TZ).year}Q{(utcnow().astimezone(LOCAL_TZ).month - 1) // 3 + 1}"
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(client.get("/api/analysis.pdf", params={"quarter": q}).content)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile",
                    str(pdf), str(tmp_path / "first")], check=True, timeout=60)
    assert (tmp_path / "first.png").stat().st_size > 10_000
    if os.environ.get("ZN_UPDATE_DOCS") == "1":
        shutil.copy(tmp_path / "first.png", DOCS / "analysis-pdf-page1.png")
