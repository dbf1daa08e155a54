-- Accounts, credentials and the audit log. Same conventions as 0001:
-- timestamps are unix milliseconds, JSON is TEXT, enums are wire strings.

CREATE TABLE users (
    id              TEXT    PRIMARY KEY NOT NULL,
    name            TEXT    NOT NULL UNIQUE,
    role            TEXT    NOT NULL,            -- admin | member
    password_hash   TEXT,                        -- argon2id PHC string; NULL: token-only user
    disabled_at     INTEGER,
    -- Login throttling lives with the account so it survives restarts and
    -- holds across replicas.
    failed_logins   INTEGER NOT NULL DEFAULT 0,
    last_failed_at  INTEGER,
    locked_until    INTEGER,
    created_at      INTEGER NOT NULL
);

-- Personal access tokens, login access/refresh tokens and single-use
-- tickets. Only a SHA-256 of each secret is kept.
CREATE TABLE tokens (
    id           TEXT    PRIMARY KEY NOT NULL,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    kind         TEXT    NOT NULL,               -- pat | access | refresh | ticket
    token_hash   TEXT    NOT NULL UNIQUE,
    scope        TEXT    NOT NULL,               -- read | write | admin
    family       TEXT,                           -- a login's access + refresh tokens share one
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER,
    last_used_at INTEGER
);

CREATE INDEX tokens_user ON tokens (user_id, kind);
CREATE INDEX tokens_family ON tokens (family) WHERE family IS NOT NULL;

-- Append-only: the code never updates or deletes rows here.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    ts         INTEGER NOT NULL,
    actor_id   TEXT,
    actor_name TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    target     TEXT,
    detail     TEXT    NOT NULL,                 -- JSON object
    ip         TEXT
);

CREATE INDEX audit_log_actor ON audit_log (actor_id, id);
CREATE INDEX audit_log_ts ON audit_log (ts);

-- Members list their own sessions.
CREATE INDEX sessions_owner_id ON sessions (owner_id, id);
