"""Stand-in for the project's Gradio app (the real one renders pydantic-ai message histories)."""

import gradio as gr
import pydantic_ai  # noqa: F401

with gr.Blocks() as app:
    gr.Markdown("pydantic-ai-visual (stand-in)")
