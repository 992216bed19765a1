-- Issue 11: users import and export jobs. See migrations/sqlite/0010 for the design.

CREATE TABLE jobs (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    runner TEXT,
    heartbeat_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,
    document JSON NOT NULL
);
CREATE INDEX jobs_status ON jobs (status, seq);

CREATE TABLE job_files (
    job_id TEXT COLLATE "C" NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    part BIGINT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (job_id, part)
);

CREATE TABLE job_errors (
    job_id TEXT COLLATE "C" NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    document JSON NOT NULL,
    PRIMARY KEY (job_id, position)
);
