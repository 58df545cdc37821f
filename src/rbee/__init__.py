"""rbee: a model catalog for home-lab LLM pools."""

__version__ = "0.1.0"
