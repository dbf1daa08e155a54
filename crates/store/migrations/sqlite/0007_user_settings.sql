-- Each user's own Claude Code settings document (hooks, permission rules),
-- applied to all their sessions. With a master key the document is sealed
-- with AES-256-GCM (`nonce` set, `document` base64 ciphertext), because HTTP
-- hook headers and hook commands can carry secrets; without one it is stored
-- as JSON text (`nonce` NULL) and may not hold HTTP hook headers.
CREATE TABLE user_settings (
    user_id    TEXT    PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    nonce      TEXT,
    document   TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);
