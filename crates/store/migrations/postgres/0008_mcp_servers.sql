-- MCP servers: saved per user, and the servers each session was started with.
-- Env and header values are secrets: they live only in `ciphertext`
-- (AES-256-GCM under the server's master key, bound to the row's owner and
-- id); the key names are kept in clear so listings can show them.

CREATE TABLE mcp_servers (
    id          TEXT COLLATE "C" PRIMARY KEY,
    user_id     TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    transport   TEXT    NOT NULL,                -- stdio | http
    command     TEXT,
    args        TEXT    NOT NULL,                -- JSON array of strings
    url         TEXT,
    env_keys    TEXT    NOT NULL,                -- JSON array of names
    header_keys TEXT    NOT NULL,                -- JSON array of names
    nonce       TEXT    NOT NULL,                -- base64, 96 bits
    ciphertext  TEXT    NOT NULL,                -- base64 of {"env":{…},"headers":{…}}
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    UNIQUE (user_id, name)
);

-- The resolved servers of a session (saved ones copied at creation, inline
-- ones as given), sealed whole because they carry the secrets.
CREATE TABLE session_mcp_servers (
    session_id TEXT COLLATE "C" PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    nonce      TEXT NOT NULL,
    ciphertext TEXT NOT NULL
);
