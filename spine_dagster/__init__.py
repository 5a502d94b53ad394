"""spine_dagster: PipelineGroup YAML (spine.io/v1) compiled to Dagster jobs.

Importing the package does nothing else: Dagster re-imports the code location in every run and step.
"""

__version__ = "0.1.0"
