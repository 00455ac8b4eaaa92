"""nearbench: a benchmark harness for one-class image novelty detection."""

__version__ = "0.1.0"
