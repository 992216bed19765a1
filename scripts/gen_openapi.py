#!/usr/bin/env python3
"""Generates src/http/openapi.json, Roster's OpenAPI document, from Auth0's.

Keeps exactly the operations the `IMPLEMENTED` lists of src/http/*.rs name (paths there are
under /api/v2, with the second segment's parameter spelled `{id}`, as src/auth/scopes.rs
canonicalises them), the components they reference (transitively), and Auth0's words for
everything else. Code samples (Auth0's SDK snippets) are left out, and so are form bodies
(`application/x-www-form-urlencoded`) where the spec also takes JSON: Roster answers them 415. `servers` and the token URL
are filled in by the server for its own domain. A unit test in src/http/openapi.rs holds the
document to the lists, so rerun this whenever a list changes:

    python3 scripts/gen_openapi.py ../shared/spec/management-api-oas.json > src/http/openapi.json
"""
import glob
import json
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
METHODS = ("get", "post", "put", "patch", "delete")


def implemented():
    """(METHOD, path) pairs of every `pub const IMPLEMENTED` list under src/http/."""
    found = set()
    for name in sorted(glob.glob(os.path.join(ROOT, "src/http/*.rs"))):
        text = open(name).read()
        for block in re.findall(r"pub const IMPLEMENTED: &\[\(&str, &str\)\]\s*=\s*&\[(.*?)\];", text, re.S):
            found.update(re.findall(r'\("([A-Z]+)",\s*"([^"]+)"\)', block))
    return found


def canonical(path):
    segments = path.split("/")
    if len(segments) > 2 and segments[2].startswith("{"):
        segments[2] = "{id}"
    return "/".join(segments)


def refs(value, out):
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/"):
            out.add(tuple(ref[len("#/components/"):].split("/", 1)))
        for item in value.values():
            refs(item, out)
    elif isinstance(value, list):
        for item in value:
            refs(item, out)


def main():
    spec = json.load(open(sys.argv[1]))
    wanted = implemented()
    paths = {}
    seen = set()
    for path, item in spec["paths"].items():
        kept = {}
        for method, op in item.items():
            if method in METHODS and (method.upper(), canonical(path)) in wanted:
                op = {k: v for k, v in op.items() if k != "x-codeSamples"}
                content = op.get("requestBody", {}).get("content")
                if content and "application/json" in content:
                    # Roster takes JSON bodies only (a form body answers 415).
                    op["requestBody"] = dict(op["requestBody"], content={"application/json": content["application/json"]})
                kept[method] = op
                seen.add((method.upper(), canonical(path)))
            elif method not in METHODS:
                kept[method] = op  # path-level parameters, summary
        if any(m in kept for m in METHODS):
            paths[path] = kept
    missing = wanted - seen
    if missing:
        sys.exit(f"not in Auth0's spec: {sorted(missing)}")

    # Components reachable from the kept operations and the security schemes.
    components = {}
    pending = set()
    refs(paths, pending)
    while pending:
        kind, name = pending.pop()
        if name in components.get(kind, {}):
            continue
        value = spec["components"][kind][name]
        components.setdefault(kind, {})[name] = value
        refs(value, pending)
    components["securitySchemes"] = spec["components"]["securitySchemes"]
    components = {kind: dict(sorted(items.items())) for kind, items in sorted(components.items())}

    tags = sorted({tag for item in paths.values() for op in item.values() if isinstance(op, dict)
                   for tag in op.get("tags", [])})
    doc = {
        "openapi": spec["openapi"],
        "info": {
            "title": "Roster Management API",
            "description": "The operations of Auth0's Management API v2 that Roster serves, in Auth0's words "
                           "(derived from Auth0's OpenAPI document). Where Roster differs, see docs/COMPATIBILITY.md.",
            "version": spec["info"]["version"],
        },
        "security": spec.get("security", []),
        "externalDocs": spec.get("externalDocs"),
        "tags": [{"name": tag} for tag in tags],
        "paths": dict(sorted(paths.items())),
        "components": components,
    }
    if doc["externalDocs"] is None:
        del doc["externalDocs"]
    json.dump(doc, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


main()
