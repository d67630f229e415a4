#!/usr/bin/env python3
"""Huifang entry point: `python run.py --help`."""

import sys

from scripts.cli import main

if __name__ == "__main__":
    sys.exit(main())
