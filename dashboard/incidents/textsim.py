"""Do two reports speak of one problem? Their words compared (issue 18, 智能派单).

Words come from jieba (Chinese word segmentation; it ships its dictionary and an IDF table
of general Chinese text, loaded once per process); each word is weighted by that IDF, so
电梯 or 垃圾 count for much and 反映 or 一下 for little, and two texts are compared by the
cosine of their weighted words. Callers' openings and closings (市民来电反映, 请尽快处理)
are not the problem and are dropped. The threshold at which two reports near one another
become one work order is a setting (ZN_DEDUP_TEXT); docs/smart-intake.md says how its
default was chosen on tests/data/reports_labelled.csv.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections import Counter
from functools import lru_cache
from typing import Any

_lock = threading.Lock()
_jieba: Any = None
_idf: dict[str, float] = {}
_median_idf = 10.0

# Words of the telling, not of the problem (the callers' and operators' set phrases).
STOPWORDS = frozenset((
    "市民", "来电", "来电人", "反映", "群众", "居民", "网格员", "巡查", "发现",
    "您好", "你好", "我要", "投诉", "有人", "打电话", "电话", "说", "称", "随手拍",
    "随手", "拍", "网格", "员", "人称", "群众反映", "管一管", "管一", "派人来", "请",
    "尽快", "处理", "希望", "有关", "部门", "管", "一管", "已经", "好几天", "几天",
    "麻烦", "派人", "来看", "看看", "很多", "人", "附近", "对面", "旁边", "门口",
    "后面", "前面", "旁", "都", "有", "意见", "核实", "谢谢", "的", "了", "在",
    "是", "我", "我们", "你", "他", "她", "它", "和", "与", "也", "还", "就",
    "又", "很", "太", "被", "把", "给", "这", "那", "个", "一", "一个",
    "一些", "没有", "没", "不", "吗", "呢", "吧", "啊", "呀", "着", "过",
    "上", "下", "里", "中", "后", "前", "等", "及", "或", "对",
))
_KEEP = re.compile(r"[\u4e00-\u9fffA-Za-z]")
# Parts of speech that say where, not what (the place is compared in metres): numerals,
# measure words, place and direction words, place and organisation names.
WHERE_FLAGS = frozenset({"m", "q", "mq", "f", "s", "ns", "nt", "nz"})


def _load() -> Any:
    """jieba with its dictionary and IDF table, loaded on first use (about a second)."""
    global _jieba, _idf, _median_idf
    if _jieba is not None:
        return _jieba
    with _lock:
        if _jieba is None:
            import jieba  # noqa: PLC0415  (a second to load: only when first needed)
            import jieba.analyse  # noqa: PLC0415
            import jieba.posseg  # noqa: PLC0415, F401

            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            table = jieba.analyse.default_tfidf
            _idf, _median_idf = dict(table.idf_freq), float(table.median_idf)
            _jieba = jieba
    return _jieba


def warm() -> None:
    """Load the dictionary now (a start-up thread calls it, so no report waits for it)."""
    _load()


def _where(text: str) -> set[str]:
    return {t.word for t in _load().posseg.lcut(text or "") if t.flag in WHERE_FLAGS}


def _kept(pieces: list[str], where: set[str]) -> list[str]:
    return [w for w in pieces if _KEEP.search(w) and w not in STOPWORDS and w not in where]


def words(text: str) -> list[str]:
    """The problem's words of `text`: jieba's words (and, in search mode, the shorter words
    inside long ones), without punctuation, the telling's words and the words of where."""
    return _kept(_load().lcut_for_search(text or ""), _where(text))


@lru_cache(maxsize=4096)
def _weights(text: str) -> dict[str, float]:
    """IDF-weighted words and character pairs (cached: an open work order's text is
    compared with every report near it)."""
    jieba, where = _load(), _where(text)
    # Character pairs across the problem's words run together: 路灯不亮 and 路灯坏了 share
    # 路灯 even where jieba cut one of them 路/灯不亮.
    run = "".join(_kept(jieba.lcut(text or ""), where))
    counts = Counter(_kept(jieba.lcut_for_search(text or ""), where)) + \
        Counter(run[i:i + 2] for i in range(len(run) - 1))
    return {w: n * _idf.get(w, _median_idf) for w, n in counts.items()}


def similarity(a: str, b: str) -> float:
    """Cosine of the IDF-weighted words of two texts: 0 (nothing in common) to 1."""
    wa, wb = _weights(a), _weights(b)
    if not wa or not wb:
        return 0.0
    dot = sum(v * wb.get(w, 0.0) for w, v in wa.items())
    norm = math.sqrt(sum(v * v for v in wa.values())) * math.sqrt(sum(v * v for v in wb.values()))
    return dot / norm if norm else 0.0


def report_text(title: str, description: str | None) -> str:
    """What a report says: its title and description, as one text."""
    return f"{title}。{description or ''}"


def same_problem(a: str, b: str, threshold: float) -> bool:
    """True when the texts are alike enough to be one problem (`threshold` from settings;
    0 or less compares nothing: the old place/time/category rule alone)."""
    return threshold <= 0 or similarity(a, b) >= threshold
