-- First schema: tracks and their feature vectors.
CREATE TABLE tracks (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    source       TEXT    NOT NULL,
    external_id  TEXT    NOT NULL,
    title        TEXT    NOT NULL DEFAULT '',
    artist       TEXT    NOT NULL DEFAULT '',
    album        TEXT    NOT NULL DEFAULT '',
    genre        TEXT    NOT NULL DEFAULT '',
    duration_ms  INTEGER,
    preview_url  TEXT,
    artwork_url  TEXT,
    release_date TEXT,
    created_at   REAL    NOT NULL,
    updated_at   REAL    NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX tracks_artist ON tracks (artist);
CREATE INDEX tracks_title ON tracks (title);

CREATE TABLE vectors (
    track_id  INTEGER NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    extractor TEXT    NOT NULL,
    version   INTEGER NOT NULL,
    dim       INTEGER NOT NULL,
    data      BLOB    NOT NULL,
    created_at REAL   NOT NULL,
    PRIMARY KEY (track_id, extractor)
);
CREATE INDEX vectors_extractor ON vectors (extractor, version);
