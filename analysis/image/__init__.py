"""The image model: layers, stacking them into a filesystem, dive's efficiency and waste."""
