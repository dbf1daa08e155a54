-- Share links: download-only, expiring, revocable links to one file of a
-- session's workspace. Only a SHA-256 of each link's token is kept.
CREATE TABLE shares (
    id          TEXT    PRIMARY KEY NOT NULL,
    session_id  TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    path        TEXT    NOT NULL,                -- relative to the workspace root
    token_hash  TEXT    NOT NULL UNIQUE,
    created_by  TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

CREATE INDEX shares_session ON shares (session_id, created_at);
