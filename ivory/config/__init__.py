"""Parameter files: loading, composition, schemas, overrides and values."""
