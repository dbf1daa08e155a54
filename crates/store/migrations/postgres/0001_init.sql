-- Timestamps are unix milliseconds, JSON is TEXT, enums are their wire strings:
-- the same representation as the SQLite schema, so one set of queries serves
-- both.

CREATE TABLE sessions (
    -- UUIDv7, hyphenated: sorts by creation. COLLATE "C" makes `ORDER BY id`
    -- byte order whatever the database's locale (some ignore hyphens), the
    -- same order SQLite uses.
    id                 TEXT COLLATE "C" PRIMARY KEY,
    owner_id           TEXT,
    title              TEXT             NOT NULL,
    status             TEXT             NOT NULL,
    status_reason      TEXT,
    runtime            TEXT             NOT NULL,
    model              TEXT             NOT NULL,
    permission_mode    TEXT             NOT NULL,
    workspace          TEXT             NOT NULL,    -- WorkspaceSpec as JSON
    workspace_path     TEXT             NOT NULL,
    max_turns          BIGINT,
    turns              BIGINT           NOT NULL,
    input_tokens       BIGINT           NOT NULL,
    output_tokens      BIGINT           NOT NULL,
    cache_read_tokens  BIGINT           NOT NULL,
    cache_write_tokens BIGINT           NOT NULL,
    cost_usd           DOUBLE PRECISION NOT NULL,
    last_seq           BIGINT           NOT NULL DEFAULT 0,
    runtime_state      TEXT,                         -- opaque JSON
    created_at         BIGINT           NOT NULL,
    updated_at         BIGINT           NOT NULL
);

-- Listing by status, newest first, with keyset pagination on id.
CREATE INDEX sessions_status_id ON sessions (status, id);

CREATE TABLE events (
    session_id TEXT COLLATE "C" NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq        BIGINT NOT NULL,
    ts         BIGINT NOT NULL,
    type       TEXT   NOT NULL,
    data       TEXT   NOT NULL,
    PRIMARY KEY (session_id, seq)
);

CREATE TABLE transcript (
    session_id TEXT COLLATE "C" NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq        BIGINT NOT NULL,
    turn       BIGINT NOT NULL,
    role       TEXT   NOT NULL,
    content    TEXT   NOT NULL,
    PRIMARY KEY (session_id, seq)
);

CREATE TABLE inputs (
    -- Insertion order, so inputs accepted within one millisecond still run in
    -- the order they were accepted.
    pos         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          TEXT   NOT NULL UNIQUE,
    session_id  TEXT COLLATE "C" NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    kind        TEXT   NOT NULL,
    text        TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    consumed_at BIGINT
);

-- The pending queue is read on every turn boundary; consumed inputs are history.
CREATE INDEX inputs_pending ON inputs (session_id, pos) WHERE consumed_at IS NULL;
-- ON DELETE CASCADE looks children up by session_id.
CREATE INDEX inputs_session ON inputs (session_id);
