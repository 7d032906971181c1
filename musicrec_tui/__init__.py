"""musicrec-tui: find songs that sound alike, from the terminal."""

__version__ = "0.1.0"
