"""Figure words in the report's language.

The figure functions label their axes in English (their callers and ``bgmscope plot`` use them
as they are). :func:`localize` puts a drawn figure's own words — axis labels, axes titles,
legend titles and entries, colour-bar labels, notes — into Chinese, leaving tick labels alone
(those are song titles, class names and numbers). A word missing from the table stays English,
and :func:`untranslated` lists it, so a test can catch a new label nobody translated.
"""

from __future__ import annotations

import re

from matplotlib.figure import Figure

ZH: dict[str, str] = {
    "time (s)": "时间（秒）",
    "amplitude": "振幅",
    "left": "左声道",
    "right": "右声道",
    "Hz (log)": "频率（Hz，对数）",
    "f0 (Hz)": "基频（Hz）",
    "semitones": "半音",
    "pitch (st)": "音高（半音）",
    "centroid (Hz)": "频谱质心（Hz）",
    "centroid": "频谱质心",
    "MFCC": "MFCC 系数",
    "z per coefficient": "按系数标准化",
    "no voiced frames": "无浊音帧",
    "no data": "无数据",
    "PC1": "主成分 1",
    "PC2": "主成分 2",
    "cluster": "聚类",
    "k": "聚类数 k",
    "silhouette": "轮廓系数",
    "calinski harabasz": "CH 指数",
    "davies bouldin": "DB 指数",
    "inertia": "簇内平方和",
    "kmeans": "KMeans",
    "minibatch": "MiniBatchKMeans",
    "objective": "目标值",
    "best rate": "最优错配率",
    "best": "最优",
    "population mean": "种群均值",
    "generation": "代数",
    "predicted": "预测",
    "true": "真实",
    "songs": "歌曲数",
    "zero crossings": "过零次数",
    "zero crossings per second": "每秒过零次数",
    "z-score": "标准分数",
    "videos using the song": "使用该歌曲的视频数",
    "videos": "使用人数",
    "BPM": "速度（BPM）",
    "LUFS": "响度（LUFS）",
    "Spearman ρ": "Spearman ρ（与使用人数）",
    "mean score": "平均得分",
    "hook − first 15 s (rank-biserial r)": "副歌 − 前 15 秒（秩二列相关 r）",
    "chroma similarity": "色度相似度",
    "frames": "帧",
    "beats": "拍",
}
# labels with a number in them: (pattern, replacement)
ZH_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^(\s*)median (.+)$"), r"\1中位数 \2"),
    (re.compile(r"^k = (\d+)$"), r"k = \1"),
    (re.compile(r"^PC(\d) \((.+)\)$"), r"主成分 \1（解释方差 \2）"),
    (re.compile(r"^(\d+) songs$"), r"\1 首歌曲"),
]


def _texts(fig: Figure):
    """Every text object of the figure that holds a word of ours (not tick labels)."""
    if fig._suptitle is not None:  # noqa: SLF001 (matplotlib keeps no public getter)
        yield fig._suptitle  # noqa: SLF001
    for ax in fig.axes:
        yield ax.xaxis.label
        yield ax.yaxis.label
        yield ax.title
        yield ax._left_title  # noqa: SLF001 (loc="left" titles)
        yield ax._right_title  # noqa: SLF001
        yield from ax.texts
        leg = ax.get_legend()
        if leg is not None:
            yield leg.get_title()
            yield from leg.get_texts()


def translate(text: str, lang: str) -> str:
    """One figure word in ``lang`` (unchanged when unknown or English)."""
    if lang != "zh" or not text.strip():
        return text
    if text in ZH:
        return ZH[text]
    for rx, rep in ZH_PATTERNS:
        if rx.match(text):
            return rx.sub(rep, text)
    return text


def localize(fig: Figure, lang: str) -> Figure:
    """Put the figure's own words into ``lang`` (in place) and return it."""
    if lang == "en":
        return fig
    for t in _texts(fig):
        s = t.get_text()
        new = translate(s, lang)
        if new != s:
            t.set_text(new)
    return fig


def figure_words(fig: Figure) -> list[str]:
    """The non-empty words :func:`localize` would look at (for tests and :func:`untranslated`)."""
    return [t.get_text() for t in _texts(fig) if t.get_text().strip()]


def untranslated(fig: Figure, lang: str = "zh") -> list[str]:
    """Words of the figure still without a ``lang`` translation (after :func:`localize`)."""
    return [s for s in figure_words(fig) if translate(s, lang) == s and re.search(r"[A-Za-z]{3,}", s)
            and not re.search(r"[\u4e00-\u9fff]", s)]
