#!/usr/bin/env python3
"""Writes a users file in Auth0's import format (a JSON array) for timing `roster import` and
the jobs API: USERS database users, each with a bcrypt `password_hash` (one given hash, so no
hashing is timed), names, user_metadata and app_metadata, and every tenth with a
`custom_password_hash` (salted SHA-256) instead.

    bench/import_file.py 1000000 > /tmp/users.json
    rm -f /tmp/imp.db*; time target/release/roster import /tmp/users.json --database-url sqlite:///tmp/imp.db
"""
import hashlib
import json
import sys

users = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
HASH = "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
out = sys.stdout
out.write("[\n")
for u in range(users):
    record = {
        "email": f"user{u}@example.com",
        "email_verified": u % 2 == 0,
        "given_name": f"Given{u}",
        "family_name": f"Family{u % 1000}",
        "user_metadata": {"locale": "en", "n": u},
        "app_metadata": {"plan": f"p{u % 3}"},
    }
    if u % 10 == 9:
        salt = f"s{u}"
        record["custom_password_hash"] = {
            "algorithm": "sha256",
            "hash": {"value": hashlib.sha256((salt + "Passw0rd!").encode()).hexdigest(), "encoding": "hex"},
            "salt": {"value": salt, "position": "prefix"},
        }
    else:
        record["password_hash"] = HASH
    out.write(("," if u else "") + json.dumps(record, separators=(",", ":")) + "\n")
out.write("]\n")
