"""alsrwe: registry and real-world evidence for ALS disease-modifying therapy."""

__version__ = "0.1.0"
