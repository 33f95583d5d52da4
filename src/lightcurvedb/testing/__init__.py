"""Test utilities for lightcurvedb and downstream packages."""
