-- Quotas and spend caps.
--
-- usage_ledger: one row per model call of an owned session, kept when the
-- session is deleted (what was spent counts toward the day and month).
-- Windows are computed from `ts` (unix ms, UTC).
CREATE TABLE usage_ledger (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id            TEXT    NOT NULL,
    session_id         TEXT    NOT NULL,
    ts                 BIGINT  NOT NULL,
    input_tokens       BIGINT  NOT NULL,
    output_tokens      BIGINT  NOT NULL,
    cache_read_tokens  BIGINT  NOT NULL,
    cache_write_tokens BIGINT  NOT NULL,
    cost_usd           REAL NOT NULL
);

CREATE INDEX usage_ledger_user_ts ON usage_ledger (user_id, ts);

-- An admin's overrides of the server's default limits for one user; a NULL
-- column inherits the server default.
CREATE TABLE user_quotas (
    user_id              TEXT    PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    max_running_sessions BIGINT,
    max_sessions         BIGINT,
    session_tokens       BIGINT,
    session_cost_usd     REAL,
    daily_tokens         BIGINT,
    daily_cost_usd       REAL,
    monthly_tokens       BIGINT,
    monthly_cost_usd     REAL,
    updated_at           BIGINT  NOT NULL
);

-- A session's own budget, set when it was created or raised on resume;
-- overrides the per-session limit of its owner.
CREATE TABLE session_budgets (
    session_id TEXT PRIMARY KEY NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    tokens     BIGINT,
    cost_usd   REAL
);
