"""The five panes: Search, Library, Similar, Ingest, Analysis."""
