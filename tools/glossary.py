"""The English ↔ 中文 glossary, generated from the chapters' own mentions.

Every chapter gives a key term its Chinese name once, as "term (中文)" (BOOK_SPEC.md, chapter
template). This module reads the markdown cells of every page of ``_toc.yml`` in book order,
finds those mentions, and keeps for each term the Chinese of its **first mention** and a link
to the section that **explains** it (``home``):

1. the page: ``HOME`` (a short table, by hand) if it lists the term; else the first page in book
   order whose title (h1, English part) names the term — its key first, then its other names
   (spellings, ``SAME`` entries, abbreviations) — where the title does not name a longer term
   holding it and the page's text uses the term (``title_match``); else the first mention's page;
2. on that page: the term's "term (中文)" mention, else its first plain mention outside the
   skipped regions, linked at its nearest enclosing labelled section (``(chNN-xxx)=`` above a
   heading), else the page itself.

When the first mention is on another page the entry shows it too ("first used: Ch. 1"). The
glossary page cannot drift from the chapters because it is this list.

Forms recognised (look at the chapters for examples)::

    **Downsampling (下采样)**            bold span holding the parenthesis: the bold text is exact
    **Downsampling** (下采样)            bold span, then the parenthesis (maths may sit between)
    total stride (总步长)                plain text: the noun phrase before the parenthesis
    multiply–accumulates (MACs, 乘加运算)  an abbreviation first: the term is still before it
    (the **feature maps**, 特征图)        English, then Chinese inside one parenthesis
    卷积（…）                             full-width parentheses as well as ASCII ones

Skipped: level-1 titles (the Chinese question), the Interview answer and Follow-ups boxes, code
fences, "Common mistakes" sections (they quote the seeds), text inside 「」 quotes, parentheses
that cite a seed (``Seed 002 (CNN知识点)``, ``Q4 (…)``) and Chinese that is a question.

The plain-text rule takes up to ``MAX_WORDS`` words before the parenthesis, stopping at
punctuation, markup and the words of ``STOP``; ``OVERRIDES`` corrects the phrases it gets wrong
and ``IGNORE`` drops parentheses that are not terms — both explicit, reviewed by hand.

Conflicts: one concept (normalised English key, after ``SAME``) with two Chinese terms, or one
Chinese term used for two concepts. ``python tools/glossary.py --report`` prints every term with
its mentions, then the conflicts; the Sphinx extension (``setup`` below, loaded from
``_config.yml``) expands the ``{cnn-glossary}`` directive of ``book/back/glossary.md`` and emits a
warning per conflict, so the strict build fails until the chapters agree again.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CJK = re.compile(r"[\u3400-\u9fff]")
MAX_WORDS = 3
# Words that end a plain-text phrase when walking back from the parenthesis.
STOP = set("""
a an the its it their his her our this that these those one two each every any some all no
and or but nor of with without by to in into on onto at for from as than via per
is are was were be been being has have had do does did can may might must will would should
gives give given called calls means mean makes make reads read keeps keep uses use used
takes take shows show adds add gets get turns turn only just also not so then where when which
who whose while because if both either neither same such here there what how why many few
three four five six seven eight
""".split())

# Parentheses that are not term mentions (Chinese text as it appears in the parenthesis).
IGNORE = {
    "单精度",            # ch31: a float32 aside
    "带权重的层",        # ch06: a gloss of "weight layers", given as 权重层 in ch08
    "激活函数之后",      # ch13: a position, not a term
    "干扰物",            # ch28: a word of a figure's story
    "自顶向下",          # b10: the seed's word for the decoder
    "网络容量",          # b08: quoted as the seed's phrase
    "通道数",            # ch06: a gloss of "width" in a list
}

# Plain-text phrases the rule gets wrong: (page stem prefix, Chinese) -> English term.
OVERRIDES = {
    ("ch05", "零γ初始化"): "zero-γ initialisation",
    ("ch06", "起始层"): "stem",
    ("ch13", "激活比例"): "active fraction",
    ("ch31", "隐式 GEMM"): "implicit GEMM",
    ("ch31", "循环卷积的回绕"): "wrap-around",
    ("ch33", "网格效应"): "gridding artefact",
    ("ch17", "网格效应"): "gridding artefact",
    ("ch10", "损伤"): "lesion experiment",
    ("w01", "捷径连接"): "residual connection",
    ("w01", "激活函数"): "activation function",
    ("ch09", "激活值"): "activations",
    ("ch16", "卷积层"): "convolution layer",
    ("w11", "稀疏"): "sparse",
    ("ch15", "多相分量"): "polyphase component",
    ("ch31", "通用矩阵乘法"): "general matrix multiply",
    ("b09", "死亡 ReLU"): "dead ReLU",
    ("ch25", "当前批次的统计量"): "batch statistics",
    ("w09", "空间注意力"): "spatial attention",
    ("w09", "全局上下文"): "global context block",
    ("w11", "结构化"): "structured pruning",
    ("w11", "非结构化"): "unstructured pruning",
    ("w11", "缩放因子"): "scale factor",
    ("ch18", "权重"): "weight",
    ("ch32", "最近邻"): "nearest-neighbour interpolation",
    ("ch32", "双三次"): "bicubic interpolation",
    ("ch11", "Xavier 初始化"): "Xavier/Glorot initialisation",
    ("ch11", "He 初始化"): "He/Kaiming initialisation",
}

# Different English names of one concept (normalised keys -> the canonical key).
SAME = {
    "batchnorm": "batch normalisation",
    "bn after every convolution": "batch normalisation",
    "layernorm": "layer normalisation",
    "groupnorm": "group normalisation",
    "instancenorm": "instance normalisation",
    "max pool": "max pooling",
    "multiply accumulate": "mac",
    "multiply accumulates": "mac",
    "dilation": "dilation rate",
    "inverted bottleneck / inverted residual": "inverted residual",
    "multilayer perceptron": "multilayer perceptron",
    "independent multilayer perceptron": "multilayer perceptron",
    "effective field": "effective receptive field",
    "true convolution": "convolution",
    "bilinear": "bilinear interpolation",
    "vanish": "vanishing gradient",
    "saturated": "saturation",
    "max pooling layer": "max pooling",
    "four stage": "stage",
    "subsampling": "downsampling",
    "parameter": "parameter count",
    "concatenate": "concatenation",
    "concatenated": "concatenation",
    "vanishe": "vanishing gradient",
    "explode": "exploding gradient",
    "vanishing gradients": "vanishing gradient",
    "flattened": "flatten",
    "flattens": "flatten",
    "channel shuffled": "channel shuffle",
    "3 d": "3 d convolution",
    "deformable": "deformable convolution",
    "spatially separable": "spatially separable convolution",
    "inverted residual block": "inverted residual",
    "pre activation block": "pre activation",
    "atrous convolution": "dilated convolution",
    "cost": "computational cost",
    "distillation": "knowledge distillation",
    "residual connection": "shortcut connection",
    "dense": "fully connected layer",
    "fully connected": "fully connected layer",
    "shortcut": "shortcut connection",
    "depthwise": "depthwise convolution",
}

# Conventional synonyms worth showing ("also: …"), keyed by the canonical English key.
SYNONYMS = {
    "dilated convolution": ["扩张卷积"],
    "dilation rate": ["扩张率"],
    "mac": ["乘加次数"],
    "shortcut connection": ["残差连接"],
    "inverted residual": ["倒瓶颈"],
    "mixed pooling": ["组合池化"],
    "depthwise convolution": ["逐通道卷积"],
}


USED: set = set()        # IGNORE / OVERRIDES / HOME entries that matched (stale ones reported)


def unused_tables() -> list[str]:
    """IGNORE, OVERRIDES and HOME entries that matched nothing in the last ``collect``: stale.
    (``stale_homes`` checks the HOME entries that did match.)"""
    return ([f"IGNORE {zh}" for zh in sorted(IGNORE) if ("IGNORE", zh) not in USED]
            + [f"OVERRIDES {k}" for k in OVERRIDES if ("OVERRIDES", k) not in USED]
            + [f"HOME {k}" for k in HOME if ("HOME", k) not in USED])


# How an entry is shown where no mention spells the concept's name in full.
DISPLAY = {
    "computational cost": "computational cost",
    "mac": "MAC (multiply–accumulate)",
    "exploding gradient": "exploding gradients",
    "vanishing gradient": "vanishing gradients",
    "parameter count": "parameter count",
    # the names interviewers use (Winograd, FFT), shown so that the filter finds them
    "minimal filtering algorithm": "minimal filtering algorithm (Winograd)",
    "convolution theorem": "convolution theorem (FFT)",
}


@dataclass
class Mention:
    english: str          # as written (first mention's form is shown)
    key: str              # normalised concept key
    chinese: str
    page: str             # docname, e.g. "book/ch07_resnet_downsampling"
    label: str | None     # nearest enclosing labelled section, or None (the page)
    section: str          # that section's title (or the page title)
    context: str
    abbr: str = ""
    also: list = field(default_factory=list)


def toc_pages(root: Path = ROOT) -> list[str]:
    """Docnames of the notebooks listed in ``_toc.yml``, in book order."""
    import yaml
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    pages = []
    for part in toc.get("parts", []):
        for ch in part.get("chapters", []):
            if (root / (ch["file"] + ".ipynb")).exists():
                pages.append(ch["file"])
    return pages


def normalise(english: str, same: bool = True) -> str:
    """Concept key: case, dashes, articles, British/American spelling and plural folded."""
    s = english.lower().replace("*", "").replace("`", "")
    s = re.sub(r"[‐‑‒–—\-]", " ", s)
    s = re.sub(r"\s+", " ", s).strip(" .,:;")
    s = re.sub(r"^(a|an|the) ", "", s)
    s = re.sub(r"(?<=\w{3})iz(e|ed|er|es|ing|ation|ations)\b", r"is\1", s)   # not "size"
    words = s.split(" ")
    last = words[-1]
    if last.endswith("ies") and len(last) > 4:
        last = last[:-3] + "y"
    elif last.endswith(("sses", "shes", "ches", "xes")):
        last = last[:-2]
    elif last.endswith("s") and not last.endswith(("ss", "us", "is", "as")) and len(last) > 3:
        last = last[:-1]
    words[-1] = last
    s = " ".join(words)
    return SAME.get(s, s) if same else s


def _strip_md(s: str) -> str:
    s = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", s)       # links -> text
    return s.replace("**", "").replace("*", "").replace("`", "").strip()


def _match_close(text: str, i: int) -> int:
    """Index of the parenthesis closing the one at ``text[i]`` (ASCII or full-width), or -1."""
    depth = 0
    for j in range(i, len(text)):
        c = text[j]
        if c in "(（":
            depth += 1
        elif c in ")）":
            depth -= 1
            if depth == 0:
                return j
    return -1


def _quoted_spans(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"「[^」]*」|“[^”]*”", text)]


def _bold_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each ``**…**`` span's inner text."""
    return [(m.start(1), m.end(1)) for m in re.finditer(r"\*\*(.+?)\*\*", text)]


def _segments(inner: str) -> list[str]:
    """Split a parenthesis's content at top-level , ; ， ；"""
    parts, depth, cur = [], 0, ""
    for c in inner:
        if c in "([（":
            depth += 1
        elif c in ")]）":
            depth -= 1
        if depth == 0 and c in ",;，；":
            parts.append(cur.strip())
            cur = ""
        else:
            cur += c
    parts.append(cur.strip())
    return [p for p in parts if p]


def _is_abbr(seg: str) -> bool:
    s = _strip_md(seg)
    return bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9\-]*", s)) and sum(c.isupper() for c in s) >= 2


def _phrase_before(text: str, end: int, chinese: str = "") -> str:
    """The plain-text noun phrase ending at ``text[end]``: up to MAX_WORDS words."""
    before = text[:end].rstrip()
    before = re.sub(r"\$[^$]*\$\s*$", "", before).rstrip()        # maths between term and paren
    if before.endswith("**"):
        # a bold span right before the parenthesis: exact
        start = before.rfind("**", 0, len(before) - 2)
        if start >= 0:
            return _strip_md(before[start + 2:len(before) - 2])
    words = []
    for w in reversed(before.split(" ")):
        w = w.replace("*", "")
        if not w or w.lower() in STOP or len(words) == MAX_WORDS:
            break
        body = w[:-1] if not words else w
        if body[:1] in "\"“'" and not re.search(r"[.,;:!?()\[\]`$|「」。，；：]", body):
            words.insert(0, w[1:])                 # an opening quote starts the phrase
            break
        if re.search(r"[.,;:!?()\[\]`$|\"“”「」。，；：]|['’]s$", body):
            break
        words.insert(0, w)
    # a leading size ("3×3 max-pool") or layer count ("two-layer") is not part of the term
    while words and (re.fullmatch(r"\d+×\d+", words[0]) and not chinese.startswith(words[0])
                     or re.fullmatch(r"(two|three|\d+)-layer", words[0])):
        words.pop(0)
    return " ".join(words).strip(" .,;:\"”")


def mentions_in_text(text: str) -> list[tuple[str, str, str, list, str]]:
    """(english, chinese, abbr, also, context) of every term mention in one paragraph."""
    out = []
    quoted = _quoted_spans(text)
    bolds = _bold_spans(text)
    i = 0
    while i < len(text):
        c = text[i]
        if c not in "(（":
            i += 1
            continue
        j = _match_close(text, i)
        if j < 0:
            break
        inner = text[i + 1:j]
        start = i
        i = j + 1
        if start > 0 and text[start - 1] == "]":                     # a link target
            continue
        if any(a <= start < b for a, b in quoted):
            continue
        if not CJK.search(inner):
            continue
        context = text[max(0, start - 50):j + 1]
        # seed citations: "Seed 002 (CNN知识点)", "Q4 (常用的池化操作有哪些？)", "§3 (…)"
        if re.search(r"(seed\s*\d{3}|Q\d+|§\s*\d+|Transpose Convolution|part \d)[^.]{0,12}$",
                     text[max(0, start - 40):start], re.I):
            continue
        if re.search(r"[？?]|sic|Q\d", inner):
            continue
        segs = _segments(inner)
        cjk = [s for s in segs if CJK.search(s)]
        other = [s for s in segs if not CJK.search(s)]
        chinese = re.split(r"[:：]", _strip_md(cjk[0]))[0].strip()
        if chinese in IGNORE or "seed" in chinese:
            USED.add(("IGNORE", chinese))
            continue
        also = []
        for a, b in zip(segs, segs[1:]):
            if CJK.search(a) and CJK.search(b) and not re.search(r"[A-Za-z]", b):
                also.append(_strip_md(b))
            elif not CJK.search(b):
                break
        if " / " in chinese:
            chinese, *more = [p.strip() for p in chinese.split(" / ")]
            also = more + also
        first = segs[0]
        abbr = ""
        inside_bold = [b for b in bolds if b[0] <= start < b[1]]
        if not CJK.search(first) and not _is_abbr(first) and CJK.search(segs[1] if len(segs) > 1 else ""):
            english = _strip_md(first)                 # "(the **feature maps**, 特征图)"
            english = re.sub(r"^(the|a|an|also called the|also called) ", "", english)
        else:
            if not CJK.search(first):
                abbr = _strip_md(first)
            elif other and _is_abbr(other[0]):
                abbr = _strip_md(other[0])
            gloss = [s for s in segs[1:] if not CJK.search(s)
                     and re.fullmatch(r"[a-z][a-z \-]+", s) and not s.startswith("also")]
            if gloss and not inside_bold and CJK.search(first):
                english = gloss[0]                     # "window weights (权值共享, weight sharing)"
            elif inside_bold:
                b0 = inside_bold[0][0]
                english = _strip_md(text[b0:start])
                # a second term inside one bold span: "Softmax (…) and cross-entropy (…)"
                prev = re.search(r"[)）][^()（）]*$", text[b0:start])
                if prev:
                    english = _phrase_before(text, start, chinese)
            else:
                english = _phrase_before(text, start, chinese)
        english = english.strip(" .,;:")
        if not english or CJK.search(english) or " vs " in english:
            continue
        out.append((english, chinese, abbr, also, context))
    return out


FENCE = re.compile(r"^(:{3,}|`{3,})\s*(\{[\w-]+\})?\s*(.*)$")
HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
LABEL = re.compile(r"^\((\S+)\)=\s*$")
SKIP_BOXES = ("Interview answer", "Follow-ups", "中文")
SKIP_SECTIONS = ("Common mistakes",)


def page_mentions(root: Path, page: str, paragraphs: list | None = None
                  ) -> tuple[str, list[Mention], set[str]]:
    """The page's title, its mentions in order, and every label it defines.

    ``paragraphs``, if given, receives (text, label, section) of every paragraph and level-2+
    heading outside the skipped regions, in order: where a term is used without its Chinese."""
    nb = json.loads((root / (page + ".ipynb")).read_text(encoding="utf-8"))
    title = page
    labels: set[str] = set()
    found: list[Mention] = []
    paragraphs = [] if paragraphs is None else paragraphs
    stack: list[tuple[int, str | None, str]] = []   # (level, label, title)
    pending_label = None
    skip_section_level = None
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        lines = "".join(cell["source"]).split("\n")
        fences: list[tuple[str, bool]] = []         # (fence marker, skipping)
        para: list[str] = []

        def flush():
            if not para:
                return
            text = ""
            for s in para:                          # Chinese wrapped over two lines: no space
                s = s.strip()
                text += ("" if not text or (CJK.match(text[-1]) and CJK.match(s[:1] or " "))
                         else " ") + s
            para.clear()
            if skip_section_level is not None or any(skipping for _, skipping in fences):
                return
            labelled = [s for s in stack if s[1]]
            label, section = (labelled[-1][1], labelled[-1][2]) if labelled else (None, title)
            paragraphs.append((text, label, section))
            for english, chinese, abbr, also, ctx in mentions_in_text(text):
                stem = page.split("/")[-1]
                for (prefix, zh), term in OVERRIDES.items():
                    if stem.startswith(prefix) and zh == chinese:
                        english = term
                        USED.add(("OVERRIDES", (prefix, zh)))
                found.append(Mention(english, normalise(english), chinese, page, label,
                                     section, ctx, abbr, also))

        for line in lines:
            if line.lstrip().startswith(">"):       # a blockquote quotes a source (a seed): skip it
                flush()
                continue
            fence = FENCE.match(line.strip()) if line.strip().startswith((":::", "```")) else None
            if fence:
                flush()
                marker, name, arg = fence.groups()
                if fences and not name and fences[-1][0] == marker and not arg:
                    fences.pop()
                    continue
                if marker.startswith("`") and fences and fences[-1][0] == marker:
                    fences.pop()
                    continue
                skipping = marker.startswith("`") and name is None or any(b in arg for b in SKIP_BOXES)
                fences.append((marker, skipping))
                continue
            m = LABEL.match(line.strip())
            if m:
                flush()
                pending_label = m.group(1)
                labels.add(pending_label)
                continue
            h = HEADING.match(line) if not fences else None
            if h:
                flush()
                level, text = len(h.group(1)), _strip_md(h.group(2))
                if level == 1:
                    title = text
                    pending_label = None
                    continue
                while stack and stack[-1][0] >= level:
                    stack.pop()
                stack.append((level, pending_label, text))
                pending_label = None
                if skip_section_level is not None and level <= skip_section_level:
                    skip_section_level = None
                if any(text.startswith(s) for s in SKIP_SECTIONS):
                    skip_section_level = level
                if skip_section_level is None and not any(sk for _, sk in fences):
                    labelled = [s for s in stack if s[1]]
                    paragraphs.append((text, labelled[-1][1] if labelled else None,
                                       labelled[-1][2] if labelled else title))
                continue
            if not line.strip():
                flush()
                continue
            if line.strip() and not line.startswith(":"):
                pending_label = None if not line.strip().startswith("(") else pending_label
            if re.match(r"^\s*([-*]|\d+\.)\s", line):        # a list item starts a paragraph
                flush()
            para.append(line)
        flush()
    return title, found, labels


def _back(page: str) -> bool:
    """A practice or back-matter page (book/back/), not a chapter."""
    return page.startswith("book/back/")


def collect(root: Path = ROOT, pages: list[str] | None = None) -> dict:
    """Every term's mentions in book order, the page titles and labels, and the conflicts."""
    pages = toc_pages(root) if pages is None else pages
    USED.clear()
    terms: dict[str, list[Mention]] = {}
    titles, labels, paragraphs = {}, {}, {}
    for page in pages:
        paragraphs[page] = []
        title, found, page_labels = page_mentions(root, page, paragraphs[page])
        titles[page], labels[page] = title, page_labels
        for m in found:
            terms.setdefault(m.key, []).append(m)
    # The practice and back-matter pages (book/back/) restate the chapters' terms: they count for
    # conflicts (one Chinese term per concept across the whole book), but a term is listed only
    # if a chapter names it, so their asides and seed quotes do not become entries.
    found_conflicts = conflicts(terms)
    terms = {k: ms for k, ms in terms.items() if any(not _back(m.page) for m in ms)}
    data = {"terms": terms, "titles": titles, "labels": labels, "paragraphs": paragraphs,
            "pages": pages, "conflicts": found_conflicts}
    data["homes"] = {key: home(key, data) for key in terms}
    return data


def conflicts(terms: dict[str, list[Mention]]) -> list[str]:
    """Human-readable conflicts: two Chinese terms for one concept, one Chinese for two."""
    out = []
    for key, ms in terms.items():
        zh = sorted({m.chinese for m in ms})
        if len(zh) > 1:
            where = "; ".join(f"{m.chinese} in {m.page.split('/')[-1]} ({m.english})" for m in ms)
            out.append(f"'{key}' has {len(zh)} Chinese terms {zh}: {where}")
    by_zh: dict[str, set[str]] = {}
    for key, ms in terms.items():
        for zh in {m.chinese for m in ms} | {a for m in ms for a in m.also} | set(SYNONYMS.get(key, [])):
            by_zh.setdefault(zh, set()).add(key)
    for zh, keys in sorted(by_zh.items()):
        if len(keys) > 1:
            where = "; ".join(f"'{k}' in {terms[k][0].page.split('/')[-1]}" for k in sorted(keys))
            out.append(f"{zh} names {len(keys)} concepts: {where}")
    return out


# ------------------------------------------------------------------ the explaining page

# The page that explains a term, where the title rule (``home``) finds none or the wrong one:
# normalised key -> page stem (the part of the docname after "book/"). Kept small and checked
# (``stale_homes``, ``unused_tables``; --report and the build warn, a test fails): an entry whose
# term is gone, whose page is not in the book or does not use the term, or that the title rule
# gives anyway is stale.
HOME = {
    # sizes and counts: the page of the output-size, parameter and FLOP formulas
    "stride": "ch23_output_size_params_flops",
    "padding": "ch23_output_size_params_flops",
    "parameter count": "ch23_output_size_params_flops",
    "mac": "ch23_output_size_params_flops",
    "computational cost": "ch23_output_size_params_flops",
    "dilation rate": "ch17_dilated_convolution",
    "kernel": "ch14_what_is_convolution",
    "channel": "ch14_what_is_convolution",
    "general matrix multiply": "ch31_accelerating_convolution",
    "shortcut connection": "ch05_residual_block",
    "max pooling": "b01_pooling_zoo",
    "non linearity": "b09_activation_functions",
    "layer normalisation": "w05_normalisation",
    "group normalisation": "w05_normalisation",
    "squeeze and excitation": "w09_attention_and_new_convolutions",
    "semantic segmentation": "w07_dense_prediction",
    "pruning": "w11_compression",
    "quantisation": "w11_compression",
    "knowledge distillation": "w11_compression",
}


def words(text: str) -> list[str]:
    """Text as normalised words (the folds of ``normalise``, applied to every word)."""
    s = _strip_md(text).lower()
    s = re.sub(r"[‐‑‒–—\-/]", " ", s)
    s = re.sub(r"(?<=\w{3})iz(e|ed|er|es|ing|ation|ations)\b", r"is\1", s)   # not "size"
    out = []
    for w in re.findall(r"[\w×γ]+", s):
        if w.endswith("ies") and len(w) > 4:
            w = w[:-3] + "y"
        elif w.endswith(("sses", "shes", "ches", "xes")):
            w = w[:-2]
        elif w.endswith("s") and not w.endswith(("ss", "us", "is", "as")) and len(w) > 3:
            w = w[:-1]
        out.append(w)
    return out


def _find(seq: list[str], sub: list[str]) -> list[int]:
    """Every start index of ``sub`` as a contiguous run in ``seq``."""
    n = len(sub)
    return [i for i in range(len(seq) - n + 1) if n and seq[i:i + n] == sub]


def title_words(title: str) -> list[str]:
    """A page title's English part as words: no chapter number, no parentheses (the Chinese)."""
    t = re.sub(r"^\d+\.\s+", "", title)
    while True:
        u = re.sub(r"[(（][^()（）]*[)）]", " ", t)
        if u == t:
            break
        t = u
    return words(t)


def names(key: str, data: dict) -> tuple[list[list[str]], list[list[str]]]:
    """A concept's names as word lists: (its key; its other spellings, the SAME entries that
    map to it, its abbreviations). A name written "a / b" counts as two."""
    ms = data["terms"][key]
    first = [words(key)]
    other = [normalise(m.english, same=False) for m in ms]
    other += [k for k, v in SAME.items() if v == key] + [m.abbr for m in ms if m.abbr]
    other = [words(p) for o in other for p in o.split("/")]
    other = [w for i, w in enumerate(other) if w and w not in first and w not in other[:i]]
    return first, other


def _all_names(data: dict) -> dict[str, list[list[str]]]:
    if "_names" not in data:
        data["_names"] = {k: sum(names(k, data), []) for k in data["terms"]}
    return data["_names"]


def _shadowed(tw: list[str], i: int, n: int, others: list[list[str]]) -> bool:
    """Whether the title words ``tw[i:i+n]`` are part of a longer term of the glossary: the
    match and the word before or after it lie in another concept's name."""
    runs = ([tw[i - 1:i + n]] if i > 0 else []) + ([tw[i:i + n + 1]] if i + n < len(tw) else [])
    return any(_find(o, r) for r in runs for o in others if len(o) > n)


def _mention_on(key: str, page: str, data: dict) -> dict | None:
    """The term on one page: its "term (中文)" mention, else its first plain mention."""
    on_page = [m for m in data["terms"][key] if m.page == page]
    if on_page:
        m = on_page[0]
        return dict(page=page, label=m.label, section=m.section, how="mention")
    ns = sum(names(key, data), [])
    for text, label, section in data["paragraphs"].get(page, []):
        tw = words(text)
        if any(_find(tw, n) for n in ns):
            return dict(page=page, label=label, section=section, how="plain")
    return None


def title_match(key: str, data: dict) -> str | None:
    """The first page, in book order, whose title names the term and whose text uses it: the
    term's key first, then its other names. A title naming a longer term that holds this one
    does not count ("global average pooling" is not a title about pooling, "depthwise separable"
    not one about depthwise convolution, "activation functions" not one about activations)."""
    others = [o for k, ns in _all_names(data).items() if k != key for o in ns]
    for tier in names(key, data):
        for page in data["pages"]:
            tw = title_words(data["titles"][page])
            if any(not _shadowed(tw, i, len(n), others) for n in tier for i in _find(tw, n)) \
                    and _mention_on(key, page, data):
                return page
    return None


def home(key: str, data: dict) -> dict:
    """Where the glossary links a term: the page that explains it (``HOME``, else the title
    rule, else the first mention's page) and, on it, the term's "term (中文)" mention, else its
    first plain mention (its nearest labelled section), else the page itself."""
    ms = data["terms"][key]
    stem = HOME.get(key)
    if stem is not None:
        USED.add(("HOME", key))
    page = "book/" + stem if stem and "book/" + stem in data["titles"] else None  # else stale
    page = page or title_match(key, data) or ms[0].page
    return (_mention_on(key, page, data)
            or dict(page=page, label=None, section=data["titles"].get(page, page), how="page"))


def stale_homes(data: dict) -> list[str]:
    """HOME entries that are stale: unknown term, page not in the book, term not on the page,
    or a page the title rule gives anyway."""
    out = []
    for key, stem in HOME.items():
        page = "book/" + stem
        if key not in data["terms"]:
            out.append(f"HOME {key!r}: no such term")
        elif page not in data["titles"]:
            out.append(f"HOME {key!r}: {stem} is not a page of the book")
        elif data["homes"][key]["how"] == "page":
            out.append(f"HOME {key!r}: {stem} does not mention the term")
        elif title_match(key, data) == page:
            out.append(f"HOME {key!r}: the title rule gives {stem} anyway")
    return out


def display(english: str) -> str:
    """The English as an entry: singular, a sentence-initial capital dropped (not names)."""
    w = re.split(r"[ /–-]", english)[0]
    if len(w) > 1 and w[0].isupper() and w[1:].islower() and w not in PROPER:
        english = english[0].lower() + english[1:]
    words = english.split(" ")
    last = words[-1]
    if last.endswith("ies") and len(last) > 4:
        last = last[:-3] + "y"
    elif (last.endswith("s") and not last.endswith(("ss", "us", "is", "as", "ics")) and len(last) > 3
          and last[-2].islower()):
        last = last[:-1]
    return " ".join(words[:-1] + [last])


PROPER = {"Jacobian", "Xavier", "He", "Toom", "Winograd", "Fire", "Gaussian", "Squeeze", "Lp"}


def entries(data: dict) -> list[dict]:
    """One entry per concept, sorted alphabetically: the Chinese (of the first mention), the
    abbreviation, the explaining section (``page``, ``label``, ``section``, ``title``: see
    ``home``) and the first mention (``first_*``)."""
    out = []
    for key, ms in data["terms"].items():
        first = ms[0]
        abbr = next((m.abbr for m in ms if m.abbr), "")
        also = []
        for m in ms:
            also += [a for a in m.also if a != first.chinese and a not in also]
        for a in SYNONYMS.get(key, []):
            if a not in also and a != first.chinese:
                also.append(a)
        # shown: the English of the first mention that uses the concept's own name
        named = [m for m in ms if normalise(m.english, same=False) == key]
        english = DISPLAY.get(key) or display((named or ms)[0].english)
        h = data["homes"][key]
        out.append(dict(key=key, english=english, chinese=first.chinese, abbr=abbr,
                        also=also, page=h["page"], label=h["label"], section=h["section"],
                        title=data["titles"][h["page"]], how=h["how"],
                        first_page=first.page, first_label=first.label,
                        first_title=data["titles"][first.page], count=len(ms)))
    out.sort(key=lambda e: (sort_key(e["english"]), e["english"]))
    return out


def sort_key(english: str) -> str:
    """Alphabetical order ignoring case, quotes and dashes: "'same' padding" sorts under S."""
    return re.sub(r"[^a-z0-9 ]", "", english.lower())


def letter(english: str) -> str:
    """The letter heading an entry is listed under ("#" for a digit)."""
    first = sort_key(english)[:1].upper()
    return first if first.isalpha() else "#"


def plain_maths(text: str) -> str:
    """Inline maths of a heading as plain text (the glossary page loads no MathJax):
    "$(C_{out}, k_h)$" -> "(C_out, k_h)", "$\\mathrm{ReLU}$" -> "ReLU", "$\\partial F$" -> "∂F"."""
    def one(m):
        t = m.group(1)
        t = re.sub(r"\\(?:mathrm|text|operatorname|mathbf)\{([^{}]*)\}", r"\1", t)
        for tex, uni in (("\\partial", "∂"), ("\\times", "×"), ("\\cdot", "·"),
                         ("\\alpha", "α"), ("\\gamma", "γ"), ("\\sigma", "σ")):
            t = t.replace(tex, uni)
        t = re.sub(r"∂\s+", "∂", re.sub(r"_\{([^{}]*)\}", r"_\1", t))
        return re.sub(r"\\,|\\;|[{}\\]", "", t)
    return re.sub(r"\$([^$]+)\$", one, text)


def short_title(title: str) -> str:
    """'7. How does ResNet downsample? (…)' -> 'Ch. 7'; other pages: the title before ':'/'('."""
    m = re.match(r"^(\d+)\.\s", title)
    if m:
        return f"Ch. {m.group(1)}"
    return re.split(r"[:(（]", title)[0].strip()


def where_text(e: dict) -> str:
    """The link text of an entry: "Ch. 23: Output size: count the window positions" (its
    section), "Ch. 22: Depthwise vs pointwise convolution" (a chapter's top), "Pooling"."""
    short = short_title(e["title"])
    if e["label"]:
        return f"{short}: {plain_maths(e['section'])}"
    if short.startswith("Ch. "):
        english = re.sub(r"^\d+\.\s+", "", e["title"])
        english = re.sub(r"\s*[(（][^()（）]*[\u3400-\u9fff][^()（）]*[)）]\s*$", "", english)
        return f"{short}: {english}"
    return short


def report(data: dict, out=None) -> None:
    out = out or sys.stdout
    for key, ms in sorted(data["terms"].items()):
        h = data["homes"][key]
        rule = "HOME" if key in HOME else "title" if h["page"] != ms[0].page else "first"
        print(f"{key}  -> {h['page'].split('/')[-1]}#{h['label'] or ''} ({rule}, {h['how']})",
              file=out)
        for m in ms:
            where = f"{m.page.split('/')[-1]}#{m.label or ''}"
            print(f"    {m.english} | {m.chinese}{' | ' + m.abbr if m.abbr else ''} | {where}",
                  file=out)
    moved = sum(data["homes"][k]["page"] != ms[0].page for k, ms in data["terms"].items())
    print(f"\n{len(data['terms'])} terms; {moved} link to an explaining page other than their "
          f"first mention's ({len(HOME)} by HOME)", file=out)
    for u in unused_tables() + stale_homes(data):
        print(f"unused table entry (stale?): {u}", file=out)
    print(f"{len(data['conflicts'])} conflicts", file=out)
    for c in data["conflicts"]:
        print("CONFLICT " + c, file=out)


# ------------------------------------------------------------------ Sphinx extension

def setup(app):
    from docutils import nodes
    from docutils.parsers.rst import Directive
    from sphinx import addnodes
    from sphinx.util import logging

    logger = logging.getLogger(__name__)

    def xref(text, page, label, docname):
        """A checked cross-reference: to a labelled section, else to the page."""
        if label:
            ref = addnodes.pending_xref("", refdomain="std", reftype="ref", reftarget=label,
                                        refexplicit=True, refwarn=True, refdoc=docname)
        else:
            ref = addnodes.pending_xref("", refdomain="std", reftype="doc", refdoc=docname,
                                        reftarget="/" + page, refexplicit=True, refwarn=True)
        ref += nodes.inline(text, text)
        return ref

    class GlossaryDirective(Directive):
        """``{cnn-glossary}``: the generated glossary, one section of entries per letter."""
        has_content = False

        def run(self):
            env = self.state.document.settings.env
            root = Path(env.srcdir)
            pages = toc_pages(root)
            for page in pages:
                env.note_dependency(str(root / (page + ".ipynb")))
            env.note_dependency(__file__)
            data = collect(root, pages)
            for c in data["conflicts"]:
                logger.warning("glossary conflict: %s", c, location=(env.docname, self.lineno))
            for c in stale_homes(data):
                logger.warning("glossary: stale %s", c, location=(env.docname, self.lineno))
            items = entries(data)
            container = nodes.container(classes=["cnn-glossary"])
            letters = []
            by_letter: dict[str, list[dict]] = {}
            for e in items:
                ch = letter(e["english"])
                by_letter.setdefault(ch, []).append(e)
            # the jump bar: one link per letter
            bar = nodes.paragraph(classes=["cnn-glossary-letters"])
            for ch in by_letter:
                anchor = "glossary-" + ("0" if ch == "#" else ch.lower())
                bar += nodes.reference("", ch, refid=anchor)
                bar += nodes.Text(" ")
                letters.append((ch, anchor))
            count = nodes.paragraph(classes=["cnn-glossary-count"])
            count += nodes.Text(f"{len(items)} terms.")
            container += [bar, count]
            for ch, anchor in letters:
                group = nodes.container(classes=["cnn-glossary-letter"], ids=[anchor])
                group += nodes.rubric(ch, ch)
                lst = nodes.bullet_list(classes=["cnn-glossary-list"])
                for e in by_letter[ch]:
                    li = nodes.list_item(classes=["cnn-glossary-entry"])
                    p = nodes.paragraph()
                    p += nodes.strong(e["english"], e["english"])
                    if e["abbr"] and e["abbr"].lower() != e["english"].lower():
                        p += nodes.Text(" ")
                        p += nodes.inline("", f"({e['abbr']})", classes=["cnn-glossary-abbr"])
                    p += nodes.Text(" ")
                    p += nodes.inline(e["chinese"], e["chinese"], classes=["cnn-glossary-zh"])
                    if e["also"]:
                        p += nodes.Text(" ")
                        also = "(also " + "、".join(e["also"]) + ")"
                        p += nodes.inline(also, also, classes=["cnn-glossary-also"])
                    text = where_text(e)
                    where = nodes.inline("", "", classes=["cnn-glossary-where"])
                    where += nodes.Text(" → ")
                    where += xref(text, e["page"], e["label"], env.docname)
                    if e["first_page"] != e["page"]:
                        # the first use, elsewhere: shorter, on the same line
                        first = short_title(e["first_title"])
                        # "first used: Ch. 1" is kept on one line; a long page name may wrap
                        used = nodes.inline("", "", classes=["cnn-glossary-first"] + (
                            ["cnn-glossary-nowrap"] if len(first) <= 12 else []))
                        used += nodes.Text(" · first used: ")
                        used += xref(first, e["first_page"], e["first_label"], env.docname)
                        where += used
                    p += where
                    li += p
                    lst += li
                group += lst
                container += group
            return [container]

    def page_assets(app, pagename, templatename, context, doctree):
        """The filter script and the list's stylesheet, on the glossary page only."""
        if doctree is not None and any("cnn-glossary" in n["classes"]
                                       for n in doctree.findall(nodes.container)):
            app.add_js_file("glossary.js")
            app.add_css_file("glossary.css")

    app.add_directive("cnn-glossary", GlossaryDirective)
    app.connect("html-page-context", page_assets)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--report", action="store_true", help="every term, its mentions, conflicts")
    ap.add_argument("--root", type=Path, default=ROOT)
    args = ap.parse_args(argv)
    data = collect(args.root)
    if args.report:
        report(data)
    else:
        for e in entries(data):
            first = "" if e["first_page"] == e["page"] else f" (first used: {e['first_page']})"
            print(f"{e['english']} | {e['chinese']} | {e['page']}#{e['label'] or ''}{first}")
        print(f"{len(data['terms'])} terms, {len(data['conflicts'])} conflicts")
    return 1 if data["conflicts"] else 0


if __name__ == "__main__":
    sys.exit(main())
