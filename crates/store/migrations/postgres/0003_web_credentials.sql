-- Web logins, per-user model/GitHub credentials and GitHub identities.
-- Web sessions are rows of `tokens` with kind `web` (hashed like the rest),
-- so they need no table of their own.

-- Per-user secrets (bring your own key), AES-256-GCM under the server's
-- master key; the associated data binds each to its user and provider, so a
-- row copied to another user or provider fails to decrypt.
CREATE TABLE user_credentials (
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider   TEXT    NOT NULL,                 -- anthropic | openai | github
    nonce      TEXT    NOT NULL,                 -- base64, 96 bits
    ciphertext TEXT    NOT NULL,                 -- base64, with the GCM tag
    hint       TEXT    NOT NULL,                 -- the last 4 characters, for recognition
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (user_id, provider)
);

-- Accounts at an external identity provider linked to an agentd user.
CREATE TABLE user_identities (
    provider   TEXT    NOT NULL,                 -- github
    subject    TEXT    NOT NULL,                 -- the provider's stable user id
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    login      TEXT    NOT NULL,                 -- the provider's user name when linked
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (provider, subject)
);

CREATE INDEX user_identities_user ON user_identities (user_id);

-- OAuth `state` values between the redirect and the callback: short-lived,
-- single-use, stored hashed. `link_user_id` is set when a logged-in user
-- started the flow to link their account.
CREATE TABLE oauth_states (
    state_hash   TEXT    PRIMARY KEY,
    link_user_id TEXT COLLATE "C" REFERENCES users (id) ON DELETE CASCADE,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL
);
