"""Huifang (回訪): reads the stores' shared logs, finds what is overdue or left blank, and tells people."""

__version__ = "0.1.0"
