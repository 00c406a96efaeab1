"""Reusable Textual widgets of uvscope."""
