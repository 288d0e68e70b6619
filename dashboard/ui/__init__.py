"""Streamlit widgets and helpers shared by several pages."""

from dashboard.ui.memory import keep_memory_low

keep_memory_low()  # once per server process: freed memory goes back to the system
