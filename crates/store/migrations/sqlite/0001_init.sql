-- Timestamps are unix milliseconds, JSON is TEXT, enums are their wire strings:
-- the same representation as the PostgreSQL schema, so one set of queries
-- serves both.

CREATE TABLE sessions (
    id                 TEXT    PRIMARY KEY NOT NULL, -- UUIDv7, hyphenated: sorts by creation
    owner_id           TEXT,
    title              TEXT    NOT NULL,
    status             TEXT    NOT NULL,
    status_reason      TEXT,
    runtime            TEXT    NOT NULL,
    model              TEXT    NOT NULL,
    permission_mode    TEXT    NOT NULL,
    workspace          TEXT    NOT NULL,             -- WorkspaceSpec as JSON
    workspace_path     TEXT    NOT NULL,
    max_turns          INTEGER,
    turns              INTEGER NOT NULL,
    input_tokens       INTEGER NOT NULL,
    output_tokens      INTEGER NOT NULL,
    cache_read_tokens  INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    cost_usd           REAL    NOT NULL,
    last_seq           INTEGER NOT NULL DEFAULT 0,
    runtime_state      TEXT,                         -- opaque JSON
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);

-- Listing by status, newest first, with keyset pagination on id.
CREATE INDEX sessions_status_id ON sessions (status, id);

CREATE TABLE events (
    session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    ts         INTEGER NOT NULL,
    type       TEXT    NOT NULL,
    data       TEXT    NOT NULL,
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;

CREATE TABLE transcript (
    session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    turn       INTEGER NOT NULL,
    role       TEXT    NOT NULL,
    content    TEXT    NOT NULL,
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;

CREATE TABLE inputs (
    -- Insertion order, so inputs accepted within one millisecond still run in
    -- the order they were accepted.
    pos         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT    NOT NULL UNIQUE,
    session_id  TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL,
    text        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    consumed_at INTEGER
);

-- The pending queue is read on every turn boundary; consumed inputs are history.
CREATE INDEX inputs_pending ON inputs (session_id, pos) WHERE consumed_at IS NULL;
-- ON DELETE CASCADE looks children up by session_id.
CREATE INDEX inputs_session ON inputs (session_id);
