#!/usr/bin/env python3
"""SDK compatibility suite, jobs: drives a running Roster server with auth0-python 6.x.

Same environment and conventions as every suite here (harness.py). Imports a users file with a
bad record through `jobs.users_imports.create` (a multipart upload), polls `jobs.get` until the
job finishes, reads the failed record with `jobs.errors.get`, imports again with upsert, exports
the connection's users through `jobs.users_exports.create` and downloads the gzipped file its
`location` names, and asks for a verification email (`jobs.verification_email.create`).
"""
from __future__ import annotations

import gzip
import io
import json
import time

from auth0.management.core.api_error import ApiError
from auth0.management.errors import BadRequestError, NotFoundError

from harness import CONNECTION, RUN, STATE, begin, connect, eq, finish, http, rec, test

GOOD = [f"py.imported.{i}.{RUN}@example.org" for i in range(2)]

begin("jobs")
connect()


def finished(job_id: str):
    """Polls jobs.get until the job is completed or failed."""
    c = STATE["client"]
    for _ in range(300):
        job = c.jobs.get(job_id)
        if job.status in ("completed", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish: {rec.last().text}")


def users_file(records) -> io.BytesIO:
    f = io.BytesIO(json.dumps(records).encode())
    f.name = "users.json"
    return f


@test("the connection's id", needs=("client",))
def _():
    c = STATE["client"]
    found = [x for x in c.connections.list(name=CONNECTION)]
    eq(len(found), 1, "connections named " + CONNECTION)
    STATE["connection_id"] = found[0].id


@test("users_imports.create: 202, the job; get polls it to completed with its summary", needs=("connection_id",))
def _():
    c = STATE["client"]
    records = [
        {"email": GOOD[0], "email_verified": True, "user_metadata": {"plan": "pro"}},
        {"email": "not an email"},
        {"email": GOOD[1], "given_name": "Imported"},
    ]
    job = c.jobs.users_imports.create(
        users=("users.json", users_file(records), "application/json"),
        connection_id=STATE["connection_id"],
        upsert=False,
        external_id=f"ext-{RUN}",
        send_completion_email=False,
    )
    eq(rec.last().status_code, 202, "status")
    eq((job.type, job.connection_id, job.connection, job.external_id),
       ("users_import", STATE["connection_id"], CONNECTION, f"ext-{RUN}"), "the job")
    assert job.id.startswith("job_") and job.status in ("pending", "processing", "completed"), job
    done = finished(job.id)
    eq(done.status, "completed", "status")
    eq(rec.last_json()["summary"], {"failed": 1, "updated": 0, "inserted": 2, "total": 3}, "summary")
    STATE["import"] = job.id
    STATE["records"] = records


@test("errors.get: the bad record as given, with its error", needs=("import",))
def _():
    c = STATE["client"]
    errors = c.jobs.errors.get(STATE["import"])
    raw = rec.last_json()
    eq(len(raw), 1, "one failed record")
    eq(raw[0]["user"], STATE["records"][1], "the record as given")
    eq((raw[0]["errors"][0]["code"], raw[0]["errors"][0]["path"]), ("FORMAT", "email"), "the error")
    eq(errors[0].user, STATE["records"][1], "the SDK's record")
    eq(errors[0].errors[0].code, "FORMAT", "the SDK's error code")
    found = c.users.list_users_by_email(email=GOOD[0])
    eq([(u.email, u.user_metadata, u.email_verified) for u in found], [(GOOD[0], {"plan": "pro"}, True)], "imported")
    STATE["user"] = found[0].user_id


@test("an import again: DUPLICATED_USER without upsert, updated with it; no errors -> None", needs=("import",))
def _():
    c = STATE["client"]
    again = [{"email": GOOD[1], "given_name": "Upserted"}]
    job = c.jobs.users_imports.create(users=users_file(again), connection_id=STATE["connection_id"])
    finished(job.id)
    eq(rec.last_json()["summary"], {"failed": 1, "updated": 0, "inserted": 0, "total": 1}, "without upsert")
    errors = c.jobs.errors.get(job.id)
    eq(errors[0].errors[0].code, "DUPLICATED_USER", "the error")
    job = c.jobs.users_imports.create(users=users_file(again), connection_id=STATE["connection_id"], upsert=True)
    finished(job.id)
    eq(rec.last_json()["summary"], {"failed": 0, "updated": 1, "inserted": 0, "total": 1}, "with upsert")
    eq(c.jobs.errors.get(job.id), None, "no errors (204)")
    eq(rec.last().status_code, 204, "status")
    eq(c.users.list_users_by_email(email=GOOD[1])[0].given_name, "Upserted", "the upserted user")


@test("users_imports.create: a bad connection id -> BadRequestError; jobs.get unknown -> NotFoundError",
      needs=("connection_id",))
def _():
    c = STATE["client"]
    try:
        c.jobs.users_imports.create(users=users_file([]), connection_id="con_0000000000000000")
        raise AssertionError("no error")
    except BadRequestError as e:
        eq(e.body.get("errorCode"), "inexistent_connection", "errorCode")
    try:
        c.jobs.get("job_0000000000000000")
        raise AssertionError("no error")
    except NotFoundError as e:
        eq(e.body.get("errorCode"), "inexistent_job", "errorCode")


@test("users_exports.create: 200; the location downloads gzipped NDJSON with the imported users",
      needs=("user",))
def _():
    c = STATE["client"]
    job = c.jobs.users_exports.create(
        connection_id=STATE["connection_id"],
        format="json",
        fields=[{"name": "email"}, {"name": "user_metadata.plan", "export_as": "plan"}],
    )
    eq(rec.last().status_code, 200, "status")
    eq((job.type, job.format, job.connection_id), ("users_export", "json", STATE["connection_id"]), "the job")
    done = finished(job.id)
    eq(done.status, "completed", "status")
    assert done.location and done.location.startswith("http"), done.location
    download = http.get(done.location)
    eq(download.status_code, 200, "download status")
    lines = [json.loads(line) for line in gzip.decompress(download.content).decode().splitlines() if line]
    mine = {line["email"]: line for line in lines if line["email"] in GOOD}
    eq(mine, {GOOD[0]: {"email": GOOD[0], "plan": "pro"}, GOOD[1]: {"email": GOOD[1]}}, "the imported users")


@test("users_exports.create csv: a title row and the users", needs=("user",))
def _():
    c = STATE["client"]
    job = c.jobs.users_exports.create(connection_id=STATE["connection_id"], format="csv",
                                      fields=[{"name": "email"}, {"name": "given_name"}])
    done = finished(job.id)
    text = gzip.decompress(http.get(done.location).content).decode()
    rows = text.splitlines()
    # Auth0's OWASP escaping (COMPATIBILITY.md): every value quoted with a leading '.
    eq(rows[0], '"\'email","\'given_name"', "title row")
    assert f'"\'{GOOD[1]}","\'Upserted"' in rows, rows


@test("verification_email.create: 201, a job that completes; an unknown user -> 404", needs=("user",))
def _():
    c = STATE["client"]
    unverified = c.users.list_users_by_email(email=GOOD[1])[0].user_id
    job = c.jobs.verification_email.create(user_id=unverified)
    eq(rec.last().status_code, 201, "status")
    eq(sorted(rec.last_json().keys()), ["created_at", "id", "status", "type"], "keys")
    eq(job.type, "verification_email", "type")
    eq(finished(job.id).status, "completed", "status")
    try:
        c.jobs.verification_email.create(user_id="auth0|nobody" + RUN)
        raise AssertionError("no error")
    except ApiError as e:
        # The spec lists no 404 for this endpoint, so the SDK raises its generic ApiError.
        eq((e.status_code, e.body.get("errorCode")), (404, "inexistent_user"), "the error")


for email in GOOD:
    try:
        for u in STATE["client"].users.list_users_by_email(email=email):
            STATE["client"].users.delete(u.user_id)
    except Exception:  # noqa: BLE001 - cleanup only
        pass

finish()
