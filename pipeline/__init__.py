"""The pipeline: intake, sections, identification, checks and reports over the extractors' documents."""

# Here rather than in pipeline/ruleset.py: the command line names the default without loading the ruleset
# machinery (pydantic, YAML), which would cost `dossier check` 0.3 s before its reading processes start.
DEFAULT_RULESET = "shandong-2020"
