"""Headless core: records, catalogue client, audio, features, ranking. Never imports Textual."""
