"""Evidence inventory (pipeline/evidence.py): honours, platforms, media and organisations named in a dossier."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import spacy

from fixtures.clusters import CLUSTERS, Cluster
from fixtures.texts import all_items, authenticity_declaration, brand_evidence, informatization, innovation_platforms
from pipeline.evidence import (
    Evidence,
    EvidenceFinder,
    evidence_scores,
    inventory,
    load_rules,
    summarize,
)
from pipeline.ruleset import DEFAULT_EVIDENCE

ROOT = Path(__file__).resolve().parent.parent
EVIDENCE_LABELS = {"HONOUR", "PLATFORM", "MEDIA"}
# Platforms the fixtures name whose last word is not a platform type: found as organisations.
PLATFORMS_AS_ORG = {"鲁南化工产业园安全生产和应急救援服务中心", "诸城市食品行业职业技能培训学校"}


def _by(evidence: list[Evidence], label: str) -> dict[str, list[Evidence]]:
    out: dict[str, list[Evidence]] = {}
    for ev in evidence:
        if ev.label == label:
            out.setdefault(ev.normalized, []).append(ev)
    return out


@pytest.fixture(scope="module")
def finder_built() -> EvidenceFinder:
    """The bundled patterns' finder, built once for the module (an engine builds one per ruleset)."""
    return EvidenceFinder(load_rules(DEFAULT_EVIDENCE))


def _levels(found: list[Evidence]) -> set[str | None]:
    return {ev.level for ev in found}


@pytest.mark.parametrize("key", list(CLUSTERS))
def test_brand_evidence_honours_media_and_awarding_bodies(key: str, finder_built: EvidenceFinder) -> None:
    c: Cluster = CLUSTERS[key]
    found = finder_built.find(brand_evidence(c).body_text(), "4.名牌产品及宣传报道材料.docx", 3)
    honours, media, orgs = _by(found, "HONOUR"), _by(found, "MEDIA"), _by(found, "ORG")
    for h in c.honors:
        assert h.title in honours, (h.title, sorted(honours))
        assert _levels(honours[h.title]) == {"国家级"}
        assert any(ev.text == f"“{h.title}”" for ev in honours[h.title])  # as written, quotes kept
        assert h.org in orgs, (h.org, sorted(orgs))
    assert _levels(honours["中国驰名商标"]) == {"国家级"}
    assert _levels(honours["山东名牌产品"]) == {"省级"}
    for clip in c.clippings:
        assert clip.paper in media, (clip.paper, sorted(media))
    assert _levels(media["大众日报"]) == _levels(media["齐鲁晚报"]) == {"省级"}
    assert _levels(media["人民网"]) == {"国家级"}
    assert c.firms[0].name in orgs
    assert all(ev.file == "4.名牌产品及宣传报道材料.docx" and ev.page == 3 for ev in found)
    assert all(0 < len(ev.context) <= 80 and ev.text in ev.context for ev in found)


@pytest.mark.parametrize("key", list(CLUSTERS))
def test_innovation_platforms_and_recognised_firms(key: str, finder_built: EvidenceFinder) -> None:
    c = CLUSTERS[key]
    found = finder_built.find(innovation_platforms(c).body_text(), "5.创新平台.pdf", 7)
    platforms, honours, orgs = _by(found, "PLATFORM"), _by(found, "HONOUR"), _by(found, "ORG")
    for name, _kind in c.platforms:
        assert name in (orgs if name in PLATFORMS_AS_ORG else platforms), (name, sorted(platforms), sorted(orgs))
    assert _levels(platforms["企业技术中心"]) == {"省级"}
    assert _levels(platforms["一企一技术研发中心"]) == {"省级"}
    assert {ev.text for ev in platforms["一企一技术研发中心"]} == {"“一企一技术”研发中心"}
    assert "省中小企业创新研发中心" in platforms
    assert _levels(platforms[c.platforms[1][0]]) == {"省级"}  # 山东省…工程技术研究中心
    assert {"专精特新中小企业", "专精特新小巨人", "瞪羚企业", "高新技术企业", "制造业单项冠军"} <= set(honours)
    assert "国家级" in _levels(honours["专精特新小巨人"])  # 被认定为国家级专精特新“小巨人”企业
    assert _levels(honours["瞪羚企业"]) == {None, "省级"}  # 瞪羚企业5家 / 入选山东省瞪羚企业名单
    assert _levels(honours["制造业单项冠军"]) == {"省级"}  # 山东省制造业单项冠军企业
    for firm in c.firms:
        assert firm.name in orgs, (firm.name, sorted(orgs))
    assert c.association in orgs and c.operator in orgs
    assert {ev.page for ev in found} == {7}


def test_quotes_and_little_giant_spellings_normalise(finder_built: EvidenceFinder) -> None:
    f = finder_built
    text = (
        "2021年，该公司被认定为专精特新“小巨人”企业；"
        '2022年，另一家企业被认定为专精特新"小巨人"企业；'
        "2023年，又有企业入选专精特新小巨人企业名单；"
        "全县现有「小巨人」企业3家，“小巨人”企业培育库入库企业12家，小巨人企业总数居全市前列。"
        "临朐县被授予“中国铝业之都”称号，也被称为中国铝业之都，"
        '还被评为"中国门窗之都"和‘中国丝绸名城’。'
        '集群拥有省级"一企一技术"研发中心6家、一企一技术研发中心2家、“专精特新”中小企业23家。'
    )
    found = f.find(text, "x.docx", None)
    honours = _by(found, "HONOUR")
    giants = honours["专精特新小巨人"]
    assert {ev.text for ev in giants} == {
        "专精特新“小巨人”",
        '专精特新"小巨人"',
        "专精特新小巨人",
        "「小巨人」",
        "“小巨人”",
        "小巨人",
    }
    assert {ev.text for ev in honours["中国铝业之都"]} == {"“中国铝业之都”", "中国铝业之都"}
    assert '"中国门窗之都"' in {ev.text for ev in honours["中国门窗之都"]}
    assert "中国丝绸名城" in honours
    assert "专精特新中小企业" in honours
    centres = _by(found, "PLATFORM")["一企一技术研发中心"]
    assert {ev.text for ev in centres} == {'"一企一技术"研发中心', "一企一技术研发中心"}
    assert _levels(centres) == {"省级", None}
    assert all(ev.page is None for ev in found)


def test_levels_written_next_to_a_mention(finder_built: EvidenceFinder) -> None:
    found = finder_built.find(
        "该企业建有国家级企业技术中心、省级重点实验室和市级工程技术研究中心，"
        "另有企业技术中心（省级）1家、国家高新技术企业12家，主导产品为省级以上名牌产品。",
        "x.docx",
        None,
    )
    levels = {(ev.normalized, ev.level) for ev in found if ev.label in EVIDENCE_LABELS}
    assert {
        ("企业技术中心", "国家级"),
        ("重点实验室", "省级"),
        ("工程技术研究中心", "市级"),
        ("企业技术中心", "省级"),
        ("高新技术企业", "国家级"),
    } <= levels


@pytest.mark.parametrize("key", list(CLUSTERS))
def test_unrelated_text_names_no_evidence(key: str, finder_built: EvidenceFinder) -> None:
    c = CLUSTERS[key]
    f = finder_built
    for doc in (authenticity_declaration(c), authenticity_declaration(c, title="诚信承诺书"), informatization(c)):
        found = f.find(doc.body_text(), "8.真实性声明.pdf", 1)
        assert not [ev for ev in found if ev.label in EVIDENCE_LABELS], found
    prose = (
        "近年来，集群坚持高端化、智能化、绿色化发展方向，全年研发经费支出9.68亿元，累计拥有有效专利1260件。"
        "全国重要的建筑铝型材和系统门窗生产基地已经形成，产品销往全国各省区市。"
        "下一步，将实施龙头企业培育、创新能力提升和品牌质量提升工程，推动集群规模持续壮大。"
    )
    assert f.find(prose, "x.docx", None) == []


def test_names_wrapped_across_pdf_lines_are_joined(finder_built: EvidenceFinder) -> None:
    # A PDF page's lines: full lines of ~38 字, a firm's name and a centre's name cut at the line end.
    lines = [
        "集群拥有一批实力较强的龙头骨干企业，其中山东华弘铝业集",
        "团有限公司是集群的龙头企业，拥有挤压生产线八十余条，年产",
        "铝型材六十万吨，产品广泛应用于建筑门窗、幕墙和轨道交通领",
        "域。集群建成了临朐县铝型材产品质量检验检测中心和山东省铝",
        "型材工程技术研究中心等公共服务平台。",
        "二、驰名商标",
        "临朐金岳铝材科技有限公司",
        "运营管理机构",
    ]
    found = finder_built.find("\n".join(lines), "2.发展情况简介.pdf", 2)
    assert "山东华弘铝业集团有限公司" in _by(found, "ORG")
    assert {"临朐县铝型材产品质量检验检测中心", "山东省铝型材工程技术研究中心"} <= set(_by(found, "PLATFORM"))
    # short lines (headings, table cells) are not joined to the next one
    assert "临朐金岳铝材科技有限公司" in _by(found, "ORG")
    # the same page handed over line by line, as the PDF extractor's blocks are
    evidence = inventory([(line, "2.发展情况简介.pdf", 2) for line in lines], finder_built)
    assert {(ev.normalized, ev.page) for ev in evidence if ev.label == "ORG"} == {
        ("山东华弘铝业集团有限公司", 2),
        ("临朐金岳铝材科技有限公司", 2),
    }


def test_inventory_pages_dedup_and_summary(finder_built: EvidenceFinder) -> None:
    c = CLUSTERS["linqu"]
    items = all_items(c)
    brand_text = items["brand_evidence"].body_text()
    blocks = [
        (brand_text, "申报材料.pdf", 12),
        (brand_text, "申报材料.pdf", 13),  # the same page twice (e.g. a copy): one entry per page
        (items["innovation_platforms"].body_text(), "申报材料.pdf", 14),
        (items["authenticity_declaration"].body_text(), "申报材料.pdf", 30),
        ("集群企业拥有中国驰名商标3件。", "4.名牌产品.docx", None),
    ]
    evidence = inventory(blocks, finder_built)
    keys = [(ev.label, ev.normalized, ev.file, ev.page) for ev in evidence]
    assert len(keys) == len(set(keys))
    assert {ev.page for ev in evidence if ev.label == "MEDIA"} == {12, 13}
    assert {ev.page for ev in evidence if ev.label == "PLATFORM"} == {14}
    assert not [ev for ev in evidence if ev.page == 30]
    giants = [ev for ev in evidence if ev.normalized == "专精特新小巨人"]
    assert [ev.level for ev in giants] == ["国家级"]  # the highest level any mention on the page states

    summary = summarize(evidence)
    json.dumps(summary, ensure_ascii=False)  # JSON-ready
    assert set(summary["counts"]) >= {"ORG", "HONOUR", "PLATFORM", "MEDIA"}
    assert summary["counts"]["MEDIA"] == len(c.clippings)
    merged = {(it["label"], it["normalized"]): it for it in summary["items"]}
    assert sum(summary["counts"].values()) == len(merged) == len(summary["items"])
    well_known = merged[("HONOUR", "中国驰名商标")]
    assert well_known["file"] == "申报材料.pdf" and well_known["pages"] == [12, 13]
    assert well_known["level"] == "国家级"
    assert well_known["locations"] == [
        {"file": "申报材料.pdf", "pages": [12, 13]},
        {"file": "4.名牌产品.docx", "pages": []},
    ]
    assert merged[("HONOUR", "中国铝业之都")]["text"] == "“中国铝业之都”"
    labels = [it["label"] for it in summary["items"]]
    assert labels == sorted(labels, key=["HONOUR", "PLATFORM", "MEDIA", "ORG"].index)


@pytest.mark.parametrize("key", list(CLUSTERS))
def test_evidence_scores_tell_brand_from_innovation_sections(key: str, finder_built: EvidenceFinder) -> None:
    f = finder_built
    scores = {}
    for item, doc in all_items(CLUSTERS[key]).items():
        text = doc.body_text()
        scores[item] = evidence_scores(f.find(text, item, 1), f.rules.scores, chars=len(text))
    assert scores["brand_evidence"]["brand_evidence"] > 0.5
    assert scores["innovation_platforms"]["innovation_platforms"] > 0.7
    for item, s in scores.items():
        assert set(s) == {"brand_evidence", "innovation_platforms"} and all(0 <= v <= 1 for v in s.values())
        if item != "brand_evidence":
            assert s["brand_evidence"] < 0.5 * scores["brand_evidence"]["brand_evidence"], item
        if item != "innovation_platforms":
            assert s["innovation_platforms"] < 0.5 * scores["innovation_platforms"]["innovation_platforms"], item
    assert scores["authenticity_declaration"] == {"brand_evidence": 0.0, "innovation_platforms": 0.0}
    # without the length: the counts and shares alone
    plain = evidence_scores(f.find(brand_evidence(CLUSTERS[key]).body_text(), "b", 1), f.rules.scores)
    assert plain["brand_evidence"] > 0.8 and plain["innovation_platforms"] == 0.0


def test_finder_pipeline_and_patterns_validate(finder_built: EvidenceFinder) -> None:
    assert finder_built.nlp.pipe_names == ["entity_ruler"]
    validated = EvidenceFinder(load_rules(DEFAULT_EVIDENCE), validate=True)  # spaCy's schema check of every pattern
    assert validated.find("拥有中国驰名商标", "x", 1)[0].normalized == "中国驰名商标"


def test_no_model_package_and_no_network_needed() -> None:
    assert spacy.util.is_package("zh_core_web_sm") is False
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-n", "true"]).returncode != 0:
        pytest.skip("no network namespaces here (unshare -n needs root)")
    script = (
        "import socket, sys\n"
        "try:\n    socket.create_connection(('pypi.org', 443), timeout=2); sys.exit('network is reachable')\n"
        "except OSError:\n    pass\n"
        "from pipeline.evidence import EvidenceFinder, load_rules\nfrom pipeline.ruleset import DEFAULT_EVIDENCE\n"
        "print(EvidenceFinder(load_rules(DEFAULT_EVIDENCE)).find('集群拥有中国驰名商标3件', 'x', 1)[0].normalized)\n"
    )
    result = subprocess.run(
        ["unshare", "-n", sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "中国驰名商标"


def test_speed_is_printed(capsys: pytest.CaptureFixture[str], finder_built: EvidenceFinder) -> None:
    """Load time (fresh process) and time per 100-page-equivalent text (~150,000 字); printed, not asserted."""
    script = (
        "import time\nt = time.perf_counter()\n"
        "from pipeline.evidence import EvidenceFinder, load_rules\nfrom pipeline.ruleset import DEFAULT_EVIDENCE\n"
        "EvidenceFinder(load_rules(DEFAULT_EVIDENCE))\n"
        "print(time.perf_counter() - t)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    load = float(result.stdout.strip())
    # Every item of every sample cluster, cut into 1,500-字 pages, repeated to ~150,000 字:
    # denser in names than most dossiers (every item here is about the cluster's firms and platforms).
    text = "\n".join(doc.body_text() for c in CLUSTERS.values() for doc in all_items(c).values())
    pages = [text[i : i + 1500] for i in range(0, len(text), 1500)]
    pages = (pages * (100 // len(pages) + 1))[:100]
    f = finder_built
    wall = cpu = float("inf")
    for _ in range(3):
        start, start_cpu = time.perf_counter(), time.process_time()
        found = sum(len(f.find(page, "x.pdf", n)) for n, page in enumerate(pages, 1))
        wall, cpu = min(wall, time.perf_counter() - start), min(cpu, time.process_time() - start_cpu)
    with capsys.disabled():
        print(
            f"\n[evidence] load {load:.2f} s in a fresh process (spaCy import included); "
            f"{sum(map(len, pages)):,} 字 in 100 pages: {wall:.3f} s ({cpu:.3f} s CPU), {found} mentions"
        )
