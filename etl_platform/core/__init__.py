"""The rules of the pipeline with no Dagster and no I/O: phones, the verdict, the stage registry, the
baselines, lead validation, dead-letter records and the settings. Everything else imports this layer; it
imports nothing of the project outside it (checked by `etl_platform_tests/unit/test_layers.py`)."""
