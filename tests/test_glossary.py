"""tools/glossary.py: the term extractor on small synthetic pages, then on the real book."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import glossary  # noqa: E402


def terms(text: str) -> dict[str, str]:
    """English -> Chinese of every mention in one paragraph."""
    return {e: zh for e, zh, *_ in glossary.mentions_in_text(text)}


def write_book(tmp_path: Path, pages: dict[str, list[str]]) -> list[str]:
    """A tiny book: each page a notebook of the given markdown cells, listed in order."""
    (tmp_path / "book" / "back").mkdir(parents=True)     # book/back/: practice and back matter
    names = []
    for name, cells in pages.items():
        nb = {"cells": [{"cell_type": "markdown", "id": f"m{i}", "metadata": {}, "source": c}
                        for i, c in enumerate(cells)]
              + [{"cell_type": "code", "id": "c0", "metadata": {},
                  "source": "x = 1  # kernel (卷积核)", "outputs": [], "execution_count": None}],
              "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
        (tmp_path / "book" / f"{name}.ipynb").write_text(json.dumps(nb), encoding="utf-8")
        names.append(f"book/{name}")
    return names


# ------------------------------------------------------------------ forms of a mention

def test_bold_span_holding_the_parenthesis_is_exact():
    assert terms("The stem starts **Downsampling (下采样)** early.") == {"Downsampling": "下采样"}


def test_bold_span_then_parenthesis():
    assert terms("a **bottleneck block** (瓶颈块) of three layers") == {"bottleneck block": "瓶颈块"}


def test_bold_then_maths_then_parenthesis():
    assert terms("The **width multiplier** $\\alpha$ (宽度乘子) thins") == {"width multiplier": "宽度乘子"}


def test_plain_text_takes_the_noun_phrase():
    assert terms("so the total stride (总步长) of the stem is 4") == {"total stride": "总步长"}
    assert terms("We compute the receptive field (感受野) of one unit.") == {"receptive field": "感受野"}


def test_full_width_parentheses():
    assert terms("the kernel（卷积核）slides") == {"kernel": "卷积核"}


def test_abbreviation_before_the_chinese():
    found = glossary.mentions_in_text("counted in multiply–accumulates (MACs, 乘加运算; FLOPs = 2 × MACs)")
    assert [(e, zh, abbr) for e, zh, abbr, *_ in found] == [("multiply–accumulates", "乘加运算", "MACs")]


def test_english_then_chinese_inside_the_parenthesis():
    assert terms("the three most active channels (the **feature maps**, 特征图) below") == \
        {"feature maps": "特征图"}


def test_english_gloss_after_the_chinese_wins_over_the_words_before():
    assert terms("every window weights (权值共享, weight sharing): fewer") == {"weight sharing": "权值共享"}


def test_two_terms_in_one_bold_span():
    assert terms("**Softmax (归一化指数函数) and cross-entropy (交叉熵).** They") == \
        {"Softmax": "归一化指数函数", "cross-entropy": "交叉熵"}


def test_second_chinese_segment_is_a_synonym():
    (_, zh, _, also, _), = glossary.mentions_in_text("A **dilated convolution** (空洞卷积, 扩张卷积) reads")
    assert (zh, also) == ("空洞卷积", ["扩张卷积"])


def test_seed_citations_quotes_links_and_questions_are_skipped():
    assert terms("Seed 002 (CNN知识点), Q12 says so.") == {}
    assert terms("Seed 003, Q4 (常用的池化操作有哪些？) lists them.") == {}
    assert terms("它说「感受野（receptive field）很大」.") == {}
    assert terms("see [the stem](#ch07-stem) and [x](y.ipynb)") == {}
    assert terms("plain English (no Chinese) here") == {}


def test_normalise_folds_case_plural_dashes_and_spelling():
    assert glossary.normalise("Receptive fields") == glossary.normalise("receptive field")
    assert glossary.normalise("max-pooling") == glossary.normalise("max pooling")
    assert glossary.normalise("batch normalization") == glossary.normalise("Batch normalisation")
    assert glossary.normalise("BatchNorm") == "batch normalisation"         # SAME table


# ------------------------------------------------------------------ pages and the book order

def test_titles_boxes_and_common_mistakes_are_skipped_and_first_mention_wins(tmp_path):
    pages = write_book(tmp_path, {
        "ch01_a": ["# 1. Why 3×3? (VGG卷积核为什么取3×3？)",
                   ":::::{admonition} Interview answer\n:class: tip\n\n::::{tab-set}\n"
                   ":::{tab-item} English\nA **stride (步长)** here is in the answer box.\n:::\n"
                   ":::{tab-item} 中文\n步长（stride）\n:::\n::::\n:::::",
                   "(ch01-sizes)=\n## Sizes\n\nThe **stride (步长)** moves the window.\n\n"
                   "### Deeper\n\nThe padding (填充) adds zeros.",
                   "## Common mistakes\n\nThe seed writes kernel (滤波器) wrongly.",
                   "## Check yourself\n\nNothing (无) — Chinese outside a term."],
        "ch02_b": ["# 2. B (乙)", "(ch02-x)=\n## X\n\nA **Stride (步长)** again; dilation (空洞率).\n\n"
                   "> Seed 000, Q20: the depthwise separable convolution (深度可分離卷積) is …"],
    })
    data = glossary.collect(tmp_path, pages)
    t = data["terms"]
    assert "depthwise separable convolution" not in t               # a blockquote quotes a seed
    assert t["stride"][0].page == "book/ch01_a" and t["stride"][0].label == "ch01-sizes"
    assert len(t["stride"]) == 2 and t["stride"][1].page == "book/ch02_b"
    assert t["padding"][0].label == "ch01-sizes"                   # nearest labelled section
    assert "kernel" not in t                                        # Common mistakes, code cell
    assert all(m.chinese != "VGG卷积核为什么取3×3？" for ms in t.values() for m in ms)
    assert data["titles"]["book/ch01_a"].startswith("1. Why 3×3?")
    assert "ch02-x" in data["labels"]["book/ch02_b"]
    assert data["conflicts"] == []


def test_back_matter_pages_count_for_conflicts_but_add_no_entries(tmp_path):
    pages = write_book(tmp_path, {
        "ch01_a": ["# 1. A (甲)", "(ch01-x)=\n## X\n\nThe **stride (步长)** moves the window."],
        "back/cheatsheet": ["# Cheat sheet (速查表)", "## S\n\nA **multiplier (乘数)**; **stride (步幅)**."],
    })
    data = glossary.collect(tmp_path, pages)
    assert "multiplier" not in data["terms"]                        # named on a back page only
    assert [m.page for m in data["terms"]["stride"]] == ["book/ch01_a", "book/back/cheatsheet"]
    assert len(data["conflicts"]) == 1 and "步幅" in data["conflicts"][0]


def test_unlabelled_section_links_the_page(tmp_path):
    pages = write_book(tmp_path, {"w01_c": ["# C (丙)", "## Plain\n\nThe pooling (池化) halves."]})
    (m,) = glossary.collect(tmp_path, pages)["terms"]["pooling"]
    assert m.label is None and m.section == "C (丙)"


def test_conflicts_are_detected_both_ways(tmp_path):
    pages = write_book(tmp_path, {
        "ch01_a": ["# A (甲)", "## S\n\nOne **kernel (卷积核)** per channel."],
        "ch02_b": ["# B (乙)", "## S\n\nThe **kernel (滤波器)** again, and a **filter (滤波器)**."],
    })
    conflicts = glossary.collect(tmp_path, pages)["conflicts"]
    assert any("'kernel' has 2 Chinese terms" in c for c in conflicts)
    assert any(c.startswith("滤波器 names 2 concepts") for c in conflicts)


def test_entries_are_sorted_and_shown_singular():
    assert glossary.display("Receptive fields") == "receptive field"
    assert glossary.display("Jacobian") == "Jacobian"
    assert glossary.display("running statistics") == "running statistics"
    assert glossary.letter("'same' padding") == "S" and glossary.letter("1×1 convolution") == "#"
    assert glossary.short_title("7. How does ResNet downsample? (Resnet…)") == "Ch. 7"
    assert glossary.short_title("Pooling: max, average and beyond (池化)") == "Pooling"


# ------------------------------------------------------------------ the explaining page

def test_title_words_drop_number_chinese_and_asides():
    assert glossary.title_words("17. Dilated (atrous) convolution (空洞卷积（扩张卷积）)") == \
        ["dilated", "convolution"]
    assert glossary.title_words("3-D convolution: video clips and volumes (3D卷积)") == \
        ["3", "d", "convolution", "video", "clip", "and", "volume"]
    assert glossary.words("Batch normalization layers") == ["batch", "normalisation", "layer"]


def title_book(tmp_path):
    """w01 mentions every term first; later pages' titles name some of them."""
    return write_book(tmp_path, {
        "w01_a": ["# A CNN (甲)",
                  "(w01-x)=\n## X\n\nA pooling (池化) step, a depthwise convolution (深度卷积), "
                  "a stride (步长), a kernel (卷积核) and a shortcut (捷径连接)."],
        "ch02_gap": ["# 2. What does global average pooling do? (全局平均池化)",
                     "(ch02-a)=\n## A\n\n**Global average pooling** (全局平均池化) is pooling over "
                     "the whole map."],
        "ch03_dws": ["# 3. Depthwise separable convolution (深度可分离卷积)",
                     "(ch03-a)=\n## A\n\nA depthwise separable convolution (深度可分离卷积) "
                     "starts with a depthwise convolution."],
        "ch04_kernels": ["# 4. Why 3×3 kernels? (为什么)", "## A\n\nNo such word here."],
        "ch05_pool": ["# 5. Pooling: max and beyond (池化)", "Intro.",
                      "(ch05-def)=\n## Definition\n\nMax pooling keeps the largest value."],
        "ch06_dw": ["# 6. Depthwise vs pointwise convolution (逐点)",
                    "(ch06-two)=\n## Two parts\n\nThe **depthwise** convolution (深度卷积) "
                    "filters each channel."],
        "ch07_res": ["# 7. The residual block (残差块)",
                     "(ch07-block)=\n## Block\n\nThe shortcut connection adds the input."],
    })


def test_title_rule_finds_the_explaining_page_and_section(tmp_path, monkeypatch):
    monkeypatch.setattr(glossary, "HOME", {})
    data = glossary.collect(tmp_path, title_book(tmp_path))
    h = data["homes"]
    # a title naming "global average pooling" is not about pooling; the plain mention counts
    assert (h["pooling"]["page"], h["pooling"]["label"], h["pooling"]["how"]) == \
        ("book/ch05_pool", "ch05-def", "plain")
    # "depthwise" (SAME -> depthwise convolution) in "depthwise separable" does not count either
    assert (h["depthwise convolution"]["page"], h["depthwise convolution"]["label"]) == \
        ("book/ch06_dw", "ch06-two")
    assert h["depthwise convolution"]["how"] == "mention"
    # no title names stride; "3×3 kernels" names kernel but the page never uses the word
    assert (h["stride"]["page"], h["stride"]["label"]) == ("book/w01_a", "w01-x")
    assert h["kernel"]["page"] == "book/w01_a"
    assert h["shortcut connection"]["page"] == "book/w01_a"
    # the Chinese is still the first mention's; the entry carries both places
    (e,) = [e for e in glossary.entries(data) if e["key"] == "depthwise convolution"]
    assert (e["chinese"], e["first_page"], e["page"]) == ("深度卷积", "book/w01_a", "book/ch06_dw")
    assert glossary.where_text(e) == "Ch. 6: Two parts"


def test_home_table_overrides_the_title_rule_and_stale_entries_are_reported(tmp_path, monkeypatch):
    pages = title_book(tmp_path)
    monkeypatch.setattr(glossary, "HOME", {"shortcut connection": "ch07_res"})
    data = glossary.collect(tmp_path, pages)
    assert data["homes"]["shortcut connection"] == dict(
        page="book/ch07_res", label="ch07-block", section="Block", how="plain")
    assert glossary.stale_homes(data) == []
    assert not [u for u in glossary.unused_tables() if u.startswith("HOME")]
    monkeypatch.setattr(glossary, "HOME", {"shortcut connection": "ch04_kernels",  # no mention
                                           "pooling": "ch05_pool",            # title rule's
                                           "stride": "ch99_gone",             # not a page
                                           "padding": "ch05_pool"})           # not a term
    data = glossary.collect(tmp_path, pages)
    assert [u for u in glossary.unused_tables() if u.startswith("HOME")] == ["HOME padding"]
    assert glossary.stale_homes(data) == [
        "HOME 'shortcut connection': ch04_kernels does not mention the term",
        "HOME 'pooling': the title rule gives ch05_pool anyway",
        "HOME 'stride': ch99_gone is not a page of the book",
        "HOME 'padding': no such term"]


def test_where_text_and_maths_in_headings():
    e = dict(title="23. Output size (输出)", label="ch23-x", section="The weight $(C_{out}, k_h)$")
    assert glossary.where_text(e) == "Ch. 23: The weight (C_out, k_h)"
    e = dict(title="22. Depthwise vs pointwise convolution (Depthwise与Pointwise)", label=None,
             section="")
    assert glossary.where_text(e) == "Ch. 22: Depthwise vs pointwise convolution"
    assert glossary.where_text(dict(title="Pooling: max (池化)", label=None)) == "Pooling"
    assert glossary.plain_maths(r"the Jacobian $I + \partial F/\partial x$") == \
        "the Jacobian I + ∂F/∂x"


# ------------------------------------------------------------------ the real book

@pytest.fixture(scope="module")
def book():
    return glossary.collect(ROOT)


def test_book_has_at_least_150_terms(book):
    assert len(book["terms"]) >= 150, len(book["terms"])


def test_book_has_no_unresolved_conflicts(book):
    assert book["conflicts"] == []


def test_override_ignore_and_home_tables_have_no_stale_entries():
    data = glossary.collect(ROOT)
    assert glossary.unused_tables() == []
    assert glossary.stale_homes(data) == []


def test_book_links_terms_to_the_pages_that_explain_them(book):
    expected = {
        # by the title rule
        "dilated convolution": "ch17", "receptive field": "ch33", "batch normalisation": "ch12",
        "global average pooling": "ch28", "transposed convolution": "ch32",
        "grouped convolution": "ch19", "1×1 convolution": "ch26", "conv bn fusion": "ch25",
        "effective receptive field": "b05", "deformable convolution": "b03",
        "3 d convolution": "b04", "activation function": "b09", "bottleneck": "b10",
        "convolution": "ch14", "pooling": "b01", "depthwise convolution": "ch22",
        "pointwise convolution": "ch22", "depthwise separable convolution": "ch20",
        "spatially separable convolution": "b02", "standard convolution": "ch18",
        "upsampling": "ch32", "bilinear interpolation": "ch32", "vanishing gradient": "ch11",
        # by HOME
        "stride": "ch23", "padding": "ch23", "mac": "ch23", "parameter count": "ch23",
        "dilation rate": "ch17", "kernel": "ch14", "shortcut connection": "ch05",
        "max pooling": "b01", "general matrix multiply": "ch31",
        # the first mention, where no title names the term
        "floating point operation": "ch23", "minimal filtering algorithm": "ch31",
        "convolution theorem": "ch31", "residual block": "ch05",
    }
    got = {k: book["homes"][k]["page"].split("/")[-1].split("_")[0] for k in expected}
    assert got == expected
    assert book["homes"]["depthwise convolution"]["how"] == "mention"
    assert book["homes"]["dilated convolution"]["label"] == "ch17-effective-kernel"
    # the Chinese is still the first mention's, and the first mention is still known
    (e,) = [e for e in glossary.entries(book) if e["key"] == "depthwise convolution"]
    assert e["chinese"] == "深度卷积" and e["first_page"] == "book/ch01_why_3x3_kernels"


def test_every_explaining_link_target_exists(book):
    for key, h in book["homes"].items():
        assert h["page"] in book["titles"], (key, h)
        if h["label"]:
            assert h["label"] in book["labels"][h["page"]], (key, h)


def test_every_link_target_exists_in_its_notebook(book):
    for key, ms in book["terms"].items():
        m = ms[0]
        assert (ROOT / (m.page + ".ipynb")).exists(), m.page
        if m.label:
            assert m.label in book["labels"][m.page], (key, m.page, m.label)
            source = (ROOT / (m.page + ".ipynb")).read_text(encoding="utf-8")
            assert f"({m.label})=" in source


def test_book_uses_one_chinese_term_per_concept_for_the_known_pairs(book):
    t = book["terms"]
    assert {m.chinese for m in t["kernel"]} == {"卷积核"}
    assert {m.chinese for m in t["filter"]} == {"滤波器"}
    assert {m.chinese for m in t["depthwise convolution"]} == {"深度卷积"}


def test_every_page_of_the_toc_is_read_in_order(book):
    pages = glossary.toc_pages(ROOT)
    assert pages[0] == "book/w01_cnn_in_one_page"
    assert sum(p.startswith("book/ch") for p in pages) == 33
    assert set(book["titles"]) == set(pages)


def test_report_and_exit_status(capsys):
    assert glossary.main(["--report"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^\d+ terms; \d+ link to an explaining page", out, re.M)
    assert "0 conflicts" in out and "stale" not in out
    assert re.search(r"^depthwise convolution  -> ch22_\S+ \(title, mention\)$", out, re.M)


def test_sphinx_build_warns_on_a_conflict(tmp_path):
    """The extension turns each conflict into a warning: the strict build (-W) fails on it."""
    from sphinx.application import Sphinx

    pages = write_book(tmp_path, {
        "ch01_a": ["# A (甲)", "## S\n\nOne **kernel (卷积核)** per channel."],
        "ch02_b": ["# B (乙)", "## S\n\nThe **kernel (滤波器)** again."],
    })
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: index\nparts:\n  - chapters:\n"
        + "".join(f"      - file: {p}\n" for p in pages), encoding="utf-8")
    (tmp_path / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT / 'tools')!r})\nextensions = ['glossary']\n"
        "exclude_patterns = ['book']\n", encoding="utf-8")
    (tmp_path / "index.rst").write_text("Glossary\n========\n\n.. cnn-glossary::\n", encoding="utf-8")
    import io
    warnings = io.StringIO()
    app = Sphinx(str(tmp_path), str(tmp_path), str(tmp_path / "_build"), str(tmp_path / "_doctree"),
                 "html", status=None, warning=warnings, freshenv=True)
    app.build()
    text = warnings.getvalue()
    assert "glossary conflict: 'kernel' has 2 Chinese terms" in text, text
    assert "滤波器" in text


def test_sphinx_build_links_the_explaining_section_and_the_first_use(tmp_path, monkeypatch):
    """The built page: '→ Ch. 6: Two parts' to the section that explains the term, then
    'first used: A CNN' to the first mention, both resolved links."""
    from sphinx.application import Sphinx

    monkeypatch.setattr(glossary, "HOME", {})
    pages = title_book(tmp_path)
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: index\nparts:\n  - chapters:\n"
        + "".join(f"      - file: {p}\n" for p in pages), encoding="utf-8")
    (tmp_path / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT / 'tools')!r})\n"
        "extensions = ['myst_nb', 'glossary']\nnb_execution_mode = 'off'\n"
        "suppress_warnings = ['toc.not_included']\n", encoding="utf-8")
    (tmp_path / "index.rst").write_text("Glossary\n========\n\n.. cnn-glossary::\n",
                                        encoding="utf-8")
    import io
    warnings = io.StringIO()
    app = Sphinx(str(tmp_path), str(tmp_path), str(tmp_path / "_build"),
                 str(tmp_path / "_doctree"), "html", status=None, warning=warnings,
                 freshenv=True)
    app.build()
    html = (tmp_path / "_build" / "index.html").read_text(encoding="utf-8")
    entry = re.search(r'<li class="cnn-glossary-entry">(?:(?!</li>).)*深度卷积.*?</li>', html,
                      re.S).group(0)
    links = re.findall(r'<a class="reference internal" href="([^"]+)">(?:<span[^>]*>)?([^<]+)',
                       entry)
    assert links == [("book/ch06_dw.html#ch06-two", "Ch. 6: Two parts"),
                     ("book/w01_a.html#w01-x", "A CNN")], entry
    assert "first used: " in entry
    # a term explained where it is first used shows one link only
    entry = re.search(r'<li class="cnn-glossary-entry">(?:(?!</li>).)*步长.*?</li>', html,
                      re.S).group(0)
    assert entry.count("<a ") == 1 and "first used" not in entry
    # (a second Sphinx app in one process warns that node classes are registered already)
    text = warnings.getvalue()
    assert not re.search(r"glossary conflict|glossary: stale|undefined label|unknown document",
                         text), text
