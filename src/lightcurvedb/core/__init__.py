"""Base model, portable column types, configuration and engines."""
