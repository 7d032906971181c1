-- Durable ingest queue, and where each track's preview sits in the cache.
ALTER TABLE tracks
    ADD COLUMN track_number INT,
    ADD COLUMN country VARCHAR(8),
    ADD COLUMN preview_path TEXT,
    ADD COLUMN preview_sha256 CHAR(64);

CREATE TABLE jobs (
    id          BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    source      VARCHAR(16)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    external_id VARCHAR(700) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    payload     MEDIUMTEXT   NOT NULL,
    state       VARCHAR(16)  NOT NULL DEFAULT 'queued',
    attempts    INT          NOT NULL DEFAULT 0,
    last_error  TEXT,
    worker      VARCHAR(255),
    track_id    BIGINT,
    created_at  DOUBLE NOT NULL,
    updated_at  DOUBLE NOT NULL,
    UNIQUE KEY jobs_source_external (source, external_id),
    KEY jobs_state (state, id),
    CONSTRAINT jobs_track FOREIGN KEY (track_id) REFERENCES tracks (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
