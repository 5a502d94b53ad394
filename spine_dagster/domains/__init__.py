"""Domain code: pipelines, formats and data of each business domain (never imports dagster)."""
