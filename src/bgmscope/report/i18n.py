"""The report's words in English and Chinese: headings, captions, notes and findings phrasing."""

from __future__ import annotations

from ..errors import ParameterError

LANGS = ("en", "zh")

TEXT: dict[str, dict[str, str]] = {
    "title": {"en": "bgmscope report", "zh": "bgmscope 分析报告"},
    "subtitle": {"en": "What the chart's background songs have in common, measured.",
                 "zh": "热门背景音乐有哪些共同点——用数据说话。"},
    "generated": {"en": "Generated", "zh": "生成时间"},
    "contents": {"en": "Contents", "zh": "目录"},
    "demo_note": {"en": "Demo data: synthetic songs rendered from public-domain scores; the chart numbers are simulated.",
                  "zh": "演示数据：由公版乐谱合成的歌曲，榜单数字为模拟值。"},
    # sections
    "summary": {"en": "Corpus", "zh": "语料概况"},
    "findings": {"en": "Findings", "zh": "主要发现"},
    "songs": {"en": "Songs", "zh": "歌曲卡片"},
    "features": {"en": "Features", "zh": "音频特征"},
    "select": {"en": "Feature selection", "zh": "特征选择"},
    "cluster": {"en": "Clusters", "zh": "聚类"},
    "genre": {"en": "Genres", "zh": "曲风分类"},
    "midi": {"en": "MIDI", "zh": "MIDI 转写与生成"},
    "failures": {"en": "Problems recorded", "zh": "记录的问题"},
    "omitted": {"en": "Not in this report", "zh": "本报告未包含"},
    # summary
    "n_tracks": {"en": "songs on the chart", "zh": "榜单歌曲"},
    "n_audio": {"en": "audio files decoded", "zh": "成功解码的音频"},
    "n_clips": {"en": "clips analysed", "zh": "分析片段"},
    "n_failures": {"en": "problems recorded", "zh": "记录的问题"},
    "total_use": {"en": "videos using these songs", "zh": "使用这些歌曲的视频"},
    "median_len": {"en": "median song length", "zh": "歌曲时长中位数"},
    "top_chart": {"en": "The chart's most used songs", "zh": "使用量最高的歌曲"},
    "chart_table": {"en": "The chart", "zh": "榜单"},
    # columns
    "rank": {"en": "rank", "zh": "排名"},
    "song": {"en": "title", "zh": "歌名"},
    "author": {"en": "author", "zh": "作者"},
    "user_count": {"en": "videos", "zh": "使用人数"},
    "user_incr": {"en": "growth", "zh": "增量"},
    "duration": {"en": "length (s)", "zh": "时长（秒）"},
    "tempo": {"en": "tempo (BPM)", "zh": "速度（BPM）"},
    "key": {"en": "key", "zh": "调性"},
    # captions
    "cap_card": {"en": "Waveform with spectral centroid (red), log-frequency spectrogram, pitch relative to the clip's median (semitones).",
                 "zh": "波形与频谱质心（红线）、对数频率语谱图、相对音高曲线（相对片段中位音高，单位半音）。"},
    "cap_zcr": {"en": "Zero crossings in each song's clip (the nine most used songs).",
                "zh": "各歌曲片段的过零次数（使用量最高的九首）。"},
    "cap_heat": {"en": "The 42 statistics of the study, z-scored per column (songs in chart order).",
                 "zh": "研究中的 42 个统计特征，按列标准化（按榜单顺序）。"},
    "cap_tempo": {"en": "Tempo of the clips.", "zh": "片段速度分布。"},
    "cap_key": {"en": "Estimated key of the clips (Krumhansl–Kessler profiles on mean chroma).",
                "zh": "片段调性估计（平均色度与 Krumhansl–Kessler 调性轮廓匹配）。"},
    "cap_mfcc": {"en": "MFCCs 1–19 over time of the most used song, each standardised over the clip.",
                 "zh": "使用量最高歌曲的 MFCC 1–19 随时间变化（每个系数在片段内标准化）。"},
    "cap_pop": {"en": "Videos using each of the most used songs.", "zh": "使用量最高歌曲的视频数量。"},
    "cap_pca": {"en": "Songs on the first two principal components, coloured by cluster. Hover a point for the song.",
                "zh": "歌曲在前两个主成分上的分布，按聚类着色。鼠标悬停可查看歌曲。"},
    "cap_sweep": {"en": "KMeans and MiniBatchKMeans for each k on the standardised 42 statistics, drawn on the first two principal components.",
                  "zh": "在标准化的 42 个统计特征上对每个 k 运行 KMeans 与 MiniBatchKMeans，绘于前两个主成分平面。"},
    "cap_metrics": {"en": "Clustering quality against k (silhouette and Calinski–Harabasz: higher is better; Davies–Bouldin: lower is better).",
                    "zh": "聚类质量随 k 的变化（轮廓系数、CH 指数越高越好；DB 指数越低越好）。"},
    "cap_ga": {"en": "Genetic feature selection: best and mean objective per generation.",
               "zh": "遗传算法特征选择：每代最优与平均目标值。"},
    "cap_confusion": {"en": "Confusion matrix (rows: true style, columns: predicted; shading is the row share).",
                      "zh": "混淆矩阵（行：真实风格，列：预测风格；颜色为行内占比）。"},
    "cap_genre_dist": {"en": "Predicted style of the chart's songs.", "zh": "榜单歌曲的预测风格分布。"},
    "cap_ssm": {"en": "Self-similarity of the transcription (repeats show as off-diagonal stripes).",
                "zh": "转写结果的自相似矩阵（重复段落表现为非对角线条纹）。"},
    "cap_forest": {"en": "Spearman correlation with use count, 95% bootstrap interval (features with the smallest q).",
                   "zh": "与使用人数的 Spearman 相关系数及 95% 自助法置信区间（q 值最小的特征）。"},
    "selected_n": {"en": "{k} of {m} features selected:", "zh": "从 {m} 个特征中选出 {k} 个："},
    "cap_baselines": {"en": "Mismatch rate (share of songs whose clip A's nearest neighbour is not its clip B; lower is better), mean over folds: the GA's subset against all features, random subsets of the same size and greedy forward selection.",
                      "zh": "错配率（片段 A 的最近邻不是同一歌曲片段 B 的比例，越低越好），各折平均：遗传算法子集与全部特征、同规模随机子集、贪心前向选择对比。"},
    "field": {"en": "field", "zh": "字段"},
    "value": {"en": "value", "zh": "值"},
    "members": {"en": "Members", "zh": "成员"},
    "description": {"en": "In words", "zh": "描述"},
    "cluster_n": {"en": "Cluster {c}: {n} songs", "zh": "第 {c} 类：{n} 首"},
    "players": {"en": "Listen", "zh": "试听"},
    "original": {"en": "original", "zh": "原曲"},
    "clip": {"en": "clip", "zh": "片段"},
    "more_rows": {"en": "… {n} more rows in the catalog table {t}.", "zh": "…… 另有 {n} 行，见数据表 {t}。"},
    "section_missing": {"en": "{s}: the {stage} stage has not stored results yet (run 'bgmscope {stage}').",
                        "zh": "{s}：{stage} 阶段尚未生成结果（请运行 'bgmscope {stage}'）。"},
    "no_cards": {"en": "No clips yet: run 'bgmscope prepare'.", "zh": "尚无片段：请运行 'bgmscope prepare'。"},
    "findings_none": {"en": "The hits stage has not stored results, so there are no measured findings yet.",
                      "zh": "hits 阶段尚未生成结果，因此暂无可量化的发现。"},
    "computed_here": {"en": "computed for this report", "zh": "为本报告计算"},
    "from_table": {"en": "Table", "zh": "数据表"},
    "audio_note": {"en": "Clips are embedded as Opus audio; the report works offline.",
                   "zh": "片段以 Opus 音频嵌入，报告可离线打开。"},
}

FINDINGS = {
    "corr": {"en": "{feature}: Spearman ρ = {rho:+.2f} with use count (95% CI {lo:+.2f} to {hi:+.2f}; q = {q:.3g}; n = {n}).",
             "zh": "{feature}：与使用人数的 Spearman ρ = {rho:+.2f}（95% 置信区间 {lo:+.2f} 至 {hi:+.2f}；q = {q:.3g}；n = {n}）。"},
    "corr_none": {"en": "No feature's rank correlation with use count survives the false-discovery control (smallest q = {q:.3g} over {m} features).",
                  "zh": "在错误发现率控制下，没有特征与使用人数显著相关（{m} 个特征中最小 q = {q:.3g}）。"},
    "corr_count": {"en": "{k} of {m} features correlate with use count at q < 0.05.",
                   "zh": "{m} 个特征中有 {k} 个与使用人数相关（q < 0.05）。"},
    "r2": {"en": "Predicting {target} of songs the model never saw ({model}, cross-validated): R² = {r2:.2f}{spread} (n = {n}; 0 means no better than the mean).",
           "zh": "对模型未见过歌曲的 {target} 预测（{model}，交叉验证）：R² = {r2:.2f}{spread}（n = {n}；0 表示不比均值好）。"},
    "auc": {"en": "Telling top songs from the rest: held-out ROC AUC = {auc:.2f}{spread}.",
            "zh": "区分头部歌曲与其余歌曲：留出集 ROC AUC = {auc:.2f}{spread}。"},
    "delta": {"en": "{feature}: chart songs vs reference, Cliff's δ = {d:+.2f} ({mag}; medians {a:.3g} vs {b:.3g}; q = {q:.3g}).",
              "zh": "{feature}：榜单歌曲与参照歌曲相比 Cliff's δ = {d:+.2f}（{mag}；中位数 {a:.3g} 对 {b:.3g}；q = {q:.3g}）。"},
    "clusters": {"en": "Clustering chose k = {k} (silhouette {sil:.2f}).", "zh": "聚类选定 k = {k}（轮廓系数 {sil:.2f}）。"},
    "genre_acc": {"en": "Best style classifier: {model}, accuracy {acc:.1%}{spread}.",
                  "zh": "最佳风格分类器：{model}，准确率 {acc:.1%}{spread}。"},
}


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ParameterError(f"--lang must be one of {', '.join(LANGS)}, not {lang!r}")
    return lang


class Words:
    """``w('summary')`` → the heading in the report's language."""

    def __init__(self, lang: str):
        self.lang = check_lang(lang)

    def __call__(self, key: str, **kw: object) -> str:
        entry = TEXT.get(key) or FINDINGS.get(key)
        if entry is None:
            return key
        s = entry.get(self.lang) or entry["en"]
        return s.format(**kw) if kw else s
