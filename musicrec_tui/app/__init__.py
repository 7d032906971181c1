"""The application layer: the use-cases both faces (cli/, tui/) call, typed, without Textual.

factory (builds collaborators from Settings) · services (Services, Session) · search · audio (play ids, queue) ·
recommend (Recommendation, LibraryIndex) · jobs · export · doctor. See docs/ARCHITECTURE.md.
"""
