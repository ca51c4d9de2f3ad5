"""Charts rendered on the server with matplotlib (Agg, no display) as PNG bytes: no JavaScript chart library."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

BLUE = "#0b4f8a"  # 8.6:1 on white


def _png(fig: "plt.Figure") -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def bar_chart(pairs: list[tuple[str, int]], title: str, xlabel: str, ylabel: str, horizontal: bool = False) -> bytes:
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    labels = [p[0] for p in pairs] or ["(không có dữ liệu)"]
    values = [p[1] for p in pairs] or [0]
    if horizontal:
        ax.barh(labels, values, color=BLUE)
        ax.invert_yaxis()
    else:
        short = [label[5:] if len(label) == 10 and label[4] == "-" else label for label in labels]  # MM-DD
        ax.bar(short, values, color=BLUE)
        step = max(1, len(short) // 12)
        ax.set_xticks(range(0, len(short), step), short[::step], rotation=45, ha="right")
    if not any(values):  # an empty period: an axis from 0, not a -0.04..0.04 scale
        (ax.set_xlim if horizontal else ax.set_ylim)(0, 1)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.yaxis.get_major_locator().set_params(integer=True) if not horizontal else None
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)
