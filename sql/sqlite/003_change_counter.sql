-- One counter bumped by every write that changes tracks or vectors, in the same transaction: a one-row read tells
-- a reader (the TUI's live library, the persisted index) whether anything changed since it last looked.
CREATE TABLE library_changes (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    counter INTEGER NOT NULL
);
INSERT INTO library_changes (id, counter) VALUES (1, 0);
