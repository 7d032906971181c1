"""The use-cases both faces (CLI and TUI) call: no Textual here."""
