-- First schema: tracks and their feature vectors.
CREATE TABLE tracks (
    id           BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    source       VARCHAR(16)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    external_id  VARCHAR(700) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    title        VARCHAR(1000) NOT NULL DEFAULT '',
    artist       VARCHAR(1000) NOT NULL DEFAULT '',
    album        VARCHAR(1000) NOT NULL DEFAULT '',
    genre        VARCHAR(255)  NOT NULL DEFAULT '',
    duration_ms  BIGINT,
    preview_url  TEXT,
    artwork_url  TEXT,
    release_date VARCHAR(32),
    created_at   DOUBLE NOT NULL,
    updated_at   DOUBLE NOT NULL,
    UNIQUE KEY tracks_source_external (source, external_id),
    KEY tracks_artist (artist(191)),
    KEY tracks_title (title(191))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE vectors (
    track_id   BIGINT      NOT NULL,
    extractor  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    version    INT         NOT NULL,
    dim        INT         NOT NULL,
    data       MEDIUMBLOB  NOT NULL,
    created_at DOUBLE      NOT NULL,
    PRIMARY KEY (track_id, extractor),
    KEY vectors_extractor (extractor, version),
    CONSTRAINT vectors_track FOREIGN KEY (track_id) REFERENCES tracks (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
