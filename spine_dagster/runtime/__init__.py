"""Stage 4: what runs inside a Dagster run (called from op bodies and sensors)."""
