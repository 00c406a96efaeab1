"""Python and uv: distributions in the image, uv.lock, matching them, lock history, the workspace member."""
