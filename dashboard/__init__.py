"""Loupe: review human feedback on an LLM. The domain logic, importable without Streamlit."""

__version__ = "0.1.0"
