-- Share links: download-only, expiring, revocable links to one file of a
-- session's workspace. Only a SHA-256 of each link's token is kept.
CREATE TABLE shares (
    id          TEXT COLLATE "C" PRIMARY KEY,
    session_id  TEXT COLLATE "C" NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    path        TEXT   NOT NULL,                 -- relative to the workspace root
    token_hash  TEXT   NOT NULL UNIQUE,
    created_by  TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

CREATE INDEX shares_session ON shares (session_id, created_at);
