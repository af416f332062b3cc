"""The `dossier` command (CONTRACT.md): check, batch, watch, demo, seals, schema, serve — `cli/main.py`.

The top of the project: it may import everything below it (flows, pipeline, extractors, core), nothing
imports it. Heavy packages (the pipeline, jieba, spaCy, Prefect) are imported inside the commands.
"""
