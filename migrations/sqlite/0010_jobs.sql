-- Issue 11: users import and export jobs.
--
-- A job is a row; what Auth0 shows of it and its options are its JSON `document`, what the
-- runner looks up has a column. `seq` orders the queue: one job runs at a time, oldest first.
-- An import's uploaded file and an export's gzipped output are `job_files` chunks in order,
-- so that any node can run or serve them and they survive a restart. A job's failed records
-- are `job_errors`, written in the same transaction as the job's outcome.

CREATE TABLE jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    -- uploading, pending, processing, completed, failed
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    runner TEXT,
    heartbeat_at TEXT,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    document TEXT NOT NULL
);
CREATE INDEX jobs_status ON jobs (status, seq);

CREATE TABLE job_files (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    part INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (job_id, part)
);

CREATE TABLE job_errors (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (job_id, position)
);
