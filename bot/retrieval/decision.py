"""Turns ranked scores into what the dialogue does: answer, offer choices, or fall back."""

from __future__ import annotations

from typing import Literal

Decision = Literal["sure", "ambiguous", "unknown"]


def decide(
    confidence: float,
    top_score: float,
    second_score: float,
    *,
    sure_min_score: float,
    sure_min_margin: float,
    unknown_below: float,
) -> Decision:
    """`sure` when the top hit is confident and clearly ahead, `unknown` when nothing explains the question.

    `confidence` is the top hit's coverage of the question (0..1, after any out-of-scope
    penalty); the margin is relative: (top - second) / top.
    """
    if confidence < unknown_below or top_score <= 0:
        return "unknown"
    margin = (top_score - second_score) / top_score
    if confidence >= sure_min_score and margin >= sure_min_margin:
        return "sure"
    return "ambiguous"
