"""A behaviour model of each vendor fitted to what the study recorded (issue 14)."""
