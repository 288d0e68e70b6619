"""Streamlit widgets and helpers shared by several pages."""
