-- Long names are stored whole (issue 9): a catalogue or a tag may hold a 10,000-character title, and a local
-- file's path (the external id) may be longer than any index allows. Names become MEDIUMTEXT (they are capped
-- at 16,384 characters by the one normalisation in core/text.py, the same on SQLite); external ids become TEXT
-- and stay unique through a stored SHA-256 of the id, so a path of any length fits. Prefix indexes serve the
-- lookups and the sorts.
ALTER TABLE tracks
    DROP INDEX tracks_source_external,
    MODIFY external_id  TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    ADD COLUMN external_key BINARY(32) AS (UNHEX(SHA2(external_id, 256))) STORED,
    MODIFY title        MEDIUMTEXT NOT NULL,
    MODIFY artist       MEDIUMTEXT NOT NULL,
    MODIFY album        MEDIUMTEXT NOT NULL,
    MODIFY genre        MEDIUMTEXT NOT NULL,
    MODIFY release_date TEXT,
    MODIFY country      TEXT,
    ADD UNIQUE KEY tracks_source_key (source, external_key),
    ADD KEY tracks_source_external (source, external_id(191)),
    ADD KEY tracks_album (album(191)),
    ADD KEY tracks_genre (genre(191));

ALTER TABLE jobs
    DROP INDEX jobs_source_external,
    MODIFY external_id TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    ADD COLUMN external_key BINARY(32) AS (UNHEX(SHA2(external_id, 256))) STORED,
    MODIFY last_error  MEDIUMTEXT,
    MODIFY worker      TEXT,
    ADD UNIQUE KEY jobs_source_key (source, external_key),
    ADD KEY jobs_source_external (source, external_id(191));
