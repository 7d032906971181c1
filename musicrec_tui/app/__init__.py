"""The application layer: the use-cases both faces (cli/, tui/) call, typed, without Textual.

factory (builds collaborators from Settings) · services (Services, Session) · search · audio (play ids, queue) ·
recommend (Recommendation, LibraryIndex) · discover (new songs from the catalogue, ranked by sound: sources finds
the candidates, candidates keeps their analyses apart from the library) · jobs · export · doctor. See
docs/ARCHITECTURE.md.
"""
