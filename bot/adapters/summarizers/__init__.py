"""Summarizer tiers that talk to the outside world (the LLM tier); see bot.services.cards."""

from bot.adapters.summarizers.llm import (
    LLMBadResponse,
    LLMError,
    LLMRejected,
    LLMSummarizer,
    LLMUnavailable,
)

__all__ = ["LLMBadResponse", "LLMError", "LLMRejected", "LLMSummarizer", "LLMUnavailable"]
