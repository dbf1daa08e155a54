-- Idempotency keys: the first response to a POST that carried an
-- `Idempotency-Key`, kept per user for 24 hours so a retry (the web UI's
-- offline outbox, a flaky network) replays it instead of acting twice.
-- `status` is 0 while the first request is still being handled.
CREATE TABLE idempotency_keys (
    user_id      TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    idem_key     TEXT    NOT NULL,
    request_hash TEXT    NOT NULL,                 -- sha256 of method, path and body
    status       BIGINT  NOT NULL,
    content_type TEXT,
    body         TEXT,
    created_at   BIGINT  NOT NULL,
    PRIMARY KEY (user_id, idem_key)
);

CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
