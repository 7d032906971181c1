-- Durable ingest queue, and where each track's preview sits in the cache.
ALTER TABLE tracks ADD COLUMN track_number INTEGER;
ALTER TABLE tracks ADD COLUMN country TEXT;
ALTER TABLE tracks ADD COLUMN preview_path TEXT;
ALTER TABLE tracks ADD COLUMN preview_sha256 TEXT;

CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    source      TEXT    NOT NULL,
    external_id TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    state       TEXT    NOT NULL DEFAULT 'queued',
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    worker      TEXT,
    track_id    INTEGER REFERENCES tracks (id) ON DELETE SET NULL,
    created_at  REAL    NOT NULL,
    updated_at  REAL    NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX jobs_state ON jobs (state, id);
