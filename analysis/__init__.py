"""Pure analysis of container images: no Textual, no Rich.

Data flows one way: a source (engine, archive, OCI layout) yields layer
blobs -> the layer reader turns each into `LayerContents` -> `build_image`
stacks them into an `Image` -> reports and views render it.
"""
