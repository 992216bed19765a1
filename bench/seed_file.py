#!/usr/bin/env python3
"""Writes a tenant file for timing `roster seed`: one API with 20 scopes, 10 roles of 3
permissions, USERS database users (a given bcrypt hash each, so no hashing is timed) with
metadata and a role, and one organization with every tenth user as a member with a role.

    bench/seed_file.py 1000 > /tmp/tenant.yaml
    rm -f /tmp/seed.db*; time target/release/roster seed /tmp/tenant.yaml --database-url sqlite:///tmp/seed.db
"""
import sys

users = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
HASH = "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
out = ["resourceServers:", "  - identifier: https://api.example.com", "    scopes:"]
out += [f"      - {{value: 'perm:{i}'}}" for i in range(20)]
out.append("roles:")
for r in range(10):
    out += [f"  - name: role{r}", "    permissions:"]
    out += [f"      - {{permission_name: 'perm:{i}', resource_server_identifier: https://api.example.com}}" for i in range(r, r + 3)]
out += ["users:"]
for u in range(users):
    out += [f"  - email: user{u}@example.com", f"    password_hash: '{HASH}'", f"    app_metadata: {{plan: p{u % 3}}}", f"    roles: [role{u % 10}]"]
out += ["organizations:", "  - name: acme", "    members:"]
out += [f"      - {{email: user{u}@example.com, roles: [role{u % 10}]}}" for u in range(0, users, 10)]
print("\n".join(out))
