"""The bottom layer: the document model and the small utilities every package uses (extractors, pipeline,
flows). It imports nothing of the project above it."""
