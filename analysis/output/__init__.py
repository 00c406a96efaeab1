"""Output: reports (JSON, Markdown, HTML), findings, the CI gate, diff and history, text summaries."""
