-- GitHub webhooks: deliveries already handled, the pull requests tasks
-- opened, and where to reply for tasks started from GitHub.

-- Every accepted delivery, by its `X-GitHub-Delivery` id. The signature
-- covers no timestamp, so this is what makes a redelivery (by GitHub, or
-- a replay of a captured body) a no-op, across restarts too.
CREATE TABLE webhook_deliveries (
    delivery_id TEXT    PRIMARY KEY,
    event       TEXT    NOT NULL,
    received_at BIGINT  NOT NULL
);

-- The pull request a task opened, so a `pull_request` closed delivery
-- finds the task it ends. `repo` is `owner/name`, lowercased (GitHub's
-- names are case-insensitive).
CREATE TABLE task_pull_requests (
    repo       TEXT    NOT NULL,
    number     BIGINT  NOT NULL,
    session_id TEXT COLLATE "C" NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    PRIMARY KEY (repo, number)
);

CREATE INDEX task_pull_requests_session ON task_pull_requests (session_id);

-- Tasks started from an issue or a comment: the issue to reply on, the
-- reply comment once posted, and whether it shows the final result yet
-- (a restart resumes the replies still waiting).
CREATE TABLE github_task_replies (
    session_id   TEXT COLLATE "C" PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    repo         TEXT    NOT NULL,            -- owner/name as GitHub spells it
    issue_number BIGINT  NOT NULL,
    comment_id   BIGINT,
    task_url     TEXT    NOT NULL,
    reported_at  BIGINT,
    created_at   BIGINT  NOT NULL
);

CREATE INDEX github_task_replies_pending ON github_task_replies (reported_at);
