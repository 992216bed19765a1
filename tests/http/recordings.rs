//! Replays Auth0's own recorded HTTP traffic against Roster.
//!
//! The recordings (go-vcr v2 YAML, see `shared/spec/SOURCE.md`) are real wire captures of the
//! go-auth0 SDK and the Terraform provider talking to live Auth0 tenants. For every interaction
//! with an endpoint Roster implements (`POST /users`, `GET|PATCH|DELETE /users/{id}`, and
//! `GET /users` without `q`), this test sends the recorded request to a real Roster server and
//! checks that it answers like Auth0 did:
//!
//! - the same status code;
//! - error bodies: the whole body (`statusCode`, `error`, `message`, `errorCode`, and so the
//!   key set);
//! - user bodies: the same key set, the same `identities` (keys and values, ids mapped), and the
//!   same value for every attribute that follows from the requests (email, names, username,
//!   picture, metadata after merges, flags...); timestamps only need to be timestamps, and
//!   `created_at == updated_at` wherever Auth0's were equal;
//! - listings: the wrapper's keys, `start` and `limit`, and every user both sides list;
//! - empty bodies where Auth0's were empty.
//!
//! Each recording file gets a fresh server, configured like the tenant it was recorded on (see
//! `replay::TenantShape`). Users Auth0 created get ids we cannot predict, so a recorded `user_id`
//! is mapped to the one Roster returned, in later URLs, bodies and expected responses.
//!
//! All mismatches are collected and reported together, each with file, interaction id,
//! method and URL.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use reqwest::{Method, Url};
use serde_json::{Map, Value, json};

use crate::replay::{self, Cassette, TenantShape, recorded_json};
use crate::server::Reply;

/// Where the recordings live; `ROSTER_RECORDINGS` overrides.
fn recordings_dir() -> PathBuf {
    std::env::var_os("ROSTER_RECORDINGS").map_or_else(replay::recordings_dir, PathBuf::from)
}

/// Replay must really happen: these floors are a little under what the recordings hold today
/// (see the summary the test prints), so a broken classifier or parser cannot pass by
/// replaying nothing.
/// Today: 54 files, 51 of them with users traffic; 291 of 872 interactions replayed (55 POST,
/// 163 GET, 6 PATCH, 57 DELETE, 8 searches, 2 by email; 2 of them recorded 404s).
const MIN_FILES_REPLAYED: usize = 45;
const MIN_REPLAYED: usize = 270;
const MIN_REPLAYED_PER_ENDPOINT: &[(Endpoint, usize)] = &[
    (Endpoint::Create, 50),
    (Endpoint::Get, 155),
    (Endpoint::Update, 6),
    (Endpoint::Delete, 50),
    // Every recorded listing is a search (`q`): go-auth0's List and Search, Terraform's data source.
    (Endpoint::List, 8),
    (Endpoint::ByEmail, 2),
];
/// Recorded error answers (404 inexistent_user) that must be among the replayed ones.
const MIN_ERRORS_REPLAYED: usize = 2;

// ---------------------------------------------------------------------------------------------
// Scope

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Endpoint {
    Create,
    Get,
    Update,
    Delete,
    List,
    ByEmail,
}

impl Endpoint {
    fn label(self) -> &'static str {
        match self {
            Endpoint::Create => "POST /users",
            Endpoint::Get => "GET /users/{id}",
            Endpoint::Update => "PATCH /users/{id}",
            Endpoint::Delete => "DELETE /users/{id}",
            Endpoint::List => "GET /users",
            Endpoint::ByEmail => "GET /users-by-email",
        }
    }
}

/// Why an interaction is not replayed. Every skip has one of these reasons, and they are
/// counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Skip {
    /// Any other endpoint: roles, permissions, organizations, identities (link/unlink), jobs,
    /// tickets, authentication methods, sessions, logs, resource servers...
    /// Those Roster implements are replayed by their own suites (`roles.rs`, `organizations.rs`,
    /// `identities.rs`). None of them changes what the users CRUD endpoints return for the users
    /// in these recordings (linking does, but the link recordings only delete the users
    /// afterwards, which answers 204 either way).
    OtherEndpoint,
    /// `POST /users` answered `409 custom_domain_conflict` (TestAccUserCustomDomains): the
    /// recorded tenant had several verified custom domains and the request did not pick one;
    /// Roster has no custom domains.
    CustomDomainConflict,
    /// A `GET`/`PATCH` that Auth0 answered 2xx for a user that was created by an out-of-scope
    /// endpoint (an import job, say): Roster never saw that user. (A `DELETE` of such a user is
    /// still replayed: deleting an unknown user answers 204, as Auth0 does.) This also covers
    /// users whose replayed creation failed, which is already reported as a mismatch.
    UserFromOtherEndpoint,
}

impl Skip {
    fn label(self) -> &'static str {
        match self {
            Skip::OtherEndpoint => "endpoint outside users CRUD (not implemented yet)",
            Skip::CustomDomainConflict => "POST /users answered 409 custom_domain_conflict (no custom domains)",
            Skip::UserFromOtherEndpoint => "2xx read of a user created by an out-of-scope endpoint",
        }
    }
}

fn classify(method: &str, url: &Url) -> Result<Endpoint, Skip> {
    let path = url.path();
    if path == "/api/v2/users" {
        return match method {
            "POST" => Ok(Endpoint::Create),
            "GET" => Ok(Endpoint::List),
            _ => Err(Skip::OtherEndpoint),
        };
    }
    if path == "/api/v2/users-by-email" {
        return if method == "GET" { Ok(Endpoint::ByEmail) } else { Err(Skip::OtherEndpoint) };
    }
    match path.strip_prefix("/api/v2/users/") {
        Some(id) if !id.is_empty() && !id.contains('/') => match method {
            "GET" => Ok(Endpoint::Get),
            "PATCH" => Ok(Endpoint::Update),
            "DELETE" => Ok(Endpoint::Delete),
            _ => Err(Skip::OtherEndpoint),
        },
        _ => Err(Skip::OtherEndpoint),
    }
}

/// The `{id}` of a `/api/v2/users/{id}` URL, percent-decoded.
fn user_id_in(url: &Url) -> Option<String> {
    let segment = url.path().strip_prefix("/api/v2/users/")?;
    Some(percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned())
}

// ---------------------------------------------------------------------------------------------
// Id mapping

/// Recorded user ids → Roster's, both whole (`auth0|63d1…`) and bare (`63d1…`, as in
/// `identities[*].user_id`).
#[derive(Debug, Default)]
struct Ids {
    full: HashMap<String, String>,
    bare: HashMap<String, String>,
}

impl Ids {
    fn insert(&mut self, recorded: &str, ours: &str) {
        self.full.insert(recorded.to_owned(), ours.to_owned());
        if let (Some((_, recorded_bare)), Some((_, our_bare))) = (recorded.split_once('|'), ours.split_once('|')) {
            self.bare.insert(recorded_bare.to_owned(), our_bare.to_owned());
        }
    }

    fn knows(&self, recorded: &str) -> bool {
        self.full.contains_key(recorded)
    }

    /// The request path and query to send: the recorded one with a mapped `{id}`.
    fn request_target(&self, url: &Url) -> String {
        let mut path = url.path().to_owned();
        if let Some(ours) = user_id_in(url).and_then(|id| self.full.get(&id)) {
            path = format!("/api/v2/users/{}", crate::server::encode(ours));
        }
        match url.query() {
            Some(query) => format!("{path}?{query}"),
            None => path,
        }
    }

    /// Replaces recorded ids by ours in every string of `value` that is exactly one.
    fn map(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => {
                Value::String(self.full.get(s).or_else(|| self.bare.get(s)).cloned().unwrap_or_else(|| s.clone()))
            }
            Value::Array(items) => Value::Array(items.iter().map(|v| self.map(v)).collect()),
            Value::Object(object) => Value::Object(object.iter().map(|(k, v)| (k.clone(), self.map(v))).collect()),
            other => other.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Comparison

/// Attributes whose values are times of events during the recording.
const TIMESTAMPS: &[&str] =
    &["created_at", "updated_at", "last_password_reset", "last_login", "multifactor_last_modified"];
/// Attributes whose values depend on logins that happened outside the recording.
const LOGIN_STATE: &[&str] = &["last_ip", "logins_count"];

/// `2023-01-25T19:00:26.187Z`
fn is_timestamp(value: &Value) -> bool {
    let Some(text) = value.as_str() else { return false };
    let b = text.as_bytes();
    b.len() == 24
        && text.ends_with('Z')
        && [4, 7].iter().all(|&i| b[i] == b'-')
        && b[10] == b'T'
        && [13, 16].iter().all(|&i| b[i] == b':')
        && b[19] == b'.'
        && [0..4, 5..7, 8..10, 11..13, 14..16, 17..19, 20..23].into_iter().flatten().all(|i| b[i].is_ascii_digit())
}

fn keys(object: &Map<String, Value>) -> Vec<&str> {
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

/// Differences between the key sets of `expected` and `actual`, or `None`.
fn key_difference(expected: &Map<String, Value>, actual: &Map<String, Value>) -> Option<String> {
    let missing: Vec<&str> = keys(expected).into_iter().filter(|k| !actual.contains_key(*k)).collect();
    let extra: Vec<&str> = keys(actual).into_iter().filter(|k| !expected.contains_key(*k)).collect();
    (!missing.is_empty() || !extra.is_empty()).then(|| format!("missing keys {missing:?}, unexpected keys {extra:?}"))
}

/// Compares a user object (`expected` already id-mapped); pushes one line per difference.
fn compare_user(expected: &Value, actual: &Value, at: &str, problems: &mut Vec<String>) {
    let (Some(expected), Some(actual)) = (expected.as_object(), actual.as_object()) else {
        problems.push(format!("{at}: expected a user object, got {actual}"));
        return;
    };
    if let Some(difference) = key_difference(expected, actual) {
        problems.push(format!("{at}: user keys differ: {difference}; expected keys {:?}", keys(expected)));
    }
    for (key, want) in expected {
        let Some(got) = actual.get(key) else { continue };
        if TIMESTAMPS.contains(&key.as_str()) {
            if is_timestamp(want) && !is_timestamp(got) {
                problems.push(format!("{at}: `{key}` is not a timestamp like Auth0's {want}: {got}"));
            }
        } else if LOGIN_STATE.contains(&key.as_str()) {
            // Not deterministic; the key sets were compared above.
        } else if key == "identities" {
            compare_identities(want, got, at, problems);
        } else if want != got {
            problems.push(format!("{at}: `{key}` differs: expected {want}, got {got}"));
        }
    }
    // A user nobody changed since creation has created_at == updated_at on Auth0.
    if expected.get("created_at").is_some()
        && expected.get("created_at") == expected.get("updated_at")
        && actual.get("created_at") != actual.get("updated_at")
    {
        problems.push(format!(
            "{at}: Auth0's created_at == updated_at ({}), ours differ: {} vs {}",
            expected["created_at"],
            actual.get("created_at").unwrap_or(&Value::Null),
            actual.get("updated_at").unwrap_or(&Value::Null)
        ));
    }
}

fn compare_identities(expected: &Value, actual: &Value, at: &str, problems: &mut Vec<String>) {
    let (Some(want), Some(got)) = (expected.as_array(), actual.as_array()) else {
        problems.push(format!("{at}: `identities` is not an array: expected {expected}, got {actual}"));
        return;
    };
    if want.len() != got.len() {
        problems.push(format!("{at}: {} identities expected, got {}: {actual}", want.len(), got.len()));
        return;
    }
    for (index, (want, got)) in want.iter().zip(got).enumerate() {
        let (Some(want_object), Some(got_object)) = (want.as_object(), got.as_object()) else {
            problems.push(format!("{at}: identities[{index}] is not an object: {got}"));
            continue;
        };
        if let Some(difference) = key_difference(want_object, got_object) {
            problems.push(format!("{at}: identities[{index}] keys differ: {difference}"));
        }
        for (key, value) in want_object {
            if let Some(ours) = got_object.get(key)
                && ours != value
            {
                problems.push(format!("{at}: identities[{index}].{key} differs: expected {value}, got {ours}"));
            }
        }
    }
}

/// Compares a listing: a bare array of users, or the `include_totals` wrapper.
fn compare_listing(expected: &Value, actual: &Value, at: &str, problems: &mut Vec<String>) {
    let (want_users, got_users) = match (expected, actual) {
        (Value::Array(want), Value::Array(got)) => (want, got),
        (Value::Object(want), Value::Object(got)) => {
            if let Some(difference) = key_difference(want, got) {
                problems.push(format!("{at}: listing keys differ: {difference}"));
            }
            // start and limit follow from page and per_page; length and total from the data.
            for key in ["start", "limit"] {
                if want.get(key) != got.get(key) {
                    problems.push(format!(
                        "{at}: listing `{key}` differs: expected {:?}, got {:?}",
                        want.get(key),
                        got.get(key)
                    ));
                }
            }
            match (want.get("users").and_then(Value::as_array), got.get("users").and_then(Value::as_array)) {
                (Some(want), Some(got)) => (want, got),
                _ => {
                    problems.push(format!("{at}: listing has no users array: {actual}"));
                    return;
                }
            }
        }
        _ => {
            problems.push(format!("{at}: listing shapes differ: expected {expected}, got {actual}"));
            return;
        }
    };
    // Each replay starts from an empty tenant holding only the users its recording created, so
    // a search must find exactly the users Auth0 found.
    let ids_of = |users: &[Value]| {
        let mut ids: Vec<String> = users.iter().filter_map(|u| u.get("user_id")).map(Value::to_string).collect();
        ids.sort();
        ids
    };
    if ids_of(want_users) != ids_of(got_users) {
        problems.push(format!("{at}: found users {:?}, Auth0 found {:?}", ids_of(got_users), ids_of(want_users)));
    }
    for (key, want) in expected.as_object().into_iter().flatten() {
        if matches!(key.as_str(), "length" | "total") && actual.get(key) != Some(want) {
            problems.push(format!("{at}: listing `{key}` differs: expected {want}, got {:?}", actual.get(key)));
        }
    }
    for want in want_users {
        let Some(id) = want.get("user_id") else { continue };
        if let Some(got) = got_users.iter().find(|u| u.get("user_id") == Some(id)) {
            compare_user(want, got, &format!("{at}: user {id}"), problems);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Replay

#[derive(Debug, Default)]
struct Tally {
    files: usize,
    files_replayed: usize,
    interactions: usize,
    replayed: BTreeMap<Endpoint, usize>,
    errors_replayed: usize,
    skipped: BTreeMap<Skip, usize>,
}

impl Tally {
    fn replayed_total(&self) -> usize {
        self.replayed.values().sum()
    }

    fn skipped_total(&self) -> usize {
        self.skipped.values().sum()
    }
}

async fn replay_file(path: &Path, tally: &mut Tally, mismatches: &mut Vec<String>) {
    let name = path.strip_prefix(recordings_dir()).unwrap_or(path).display().to_string();
    let cassette = Cassette::load(path, &name);
    tally.files += 1;
    tally.interactions += cassette.interactions.len();

    let mut plan = Vec::new();
    for interaction in &cassette.interactions {
        let url = Url::parse(&interaction.request.url)
            .unwrap_or_else(|e| panic!("{name} #{}: bad url {}: {e}", interaction.id, interaction.request.url));
        match classify(&interaction.request.method, &url) {
            Ok(endpoint) => plan.push((interaction, url, endpoint)),
            Err(skip) => *tally.skipped.entry(skip).or_default() += 1,
        }
    }
    if plan.is_empty() {
        return;
    }

    let shape = TenantShape::of(&cassette);
    let mut server = shape.start().await;
    let mut ids = Ids::default();
    let mut replayed_here = 0;
    for (interaction, url, endpoint) in plan {
        let recorded_body = recorded_json(interaction.response.body.as_deref());
        let recorded_status = interaction.response.code;
        if endpoint == Endpoint::Create
            && recorded_status == 409
            && recorded_body.as_ref().and_then(|b| b.get("errorCode")) == Some(&json!("custom_domain_conflict"))
        {
            *tally.skipped.entry(Skip::CustomDomainConflict).or_default() += 1;
            continue;
        }
        let unknown_user_listed = endpoint == Endpoint::ByEmail
            && recorded_body.as_ref().and_then(Value::as_array).is_some_and(|users| {
                users.iter().any(|u| u.get("user_id").and_then(Value::as_str).is_some_and(|id| !ids.knows(id)))
            });
        if unknown_user_listed
            || matches!(endpoint, Endpoint::Get | Endpoint::Update)
                && (200..300).contains(&recorded_status)
                && user_id_in(&url).is_some_and(|id| !ids.knows(&id))
        {
            *tally.skipped.entry(Skip::UserFromOtherEndpoint).or_default() += 1;
            continue;
        }

        let method = Method::from_bytes(interaction.request.method.as_bytes()).expect("recorded method");
        let target = ids.request_target(&url);
        let body = recorded_json(interaction.request.body.as_deref()).map(|b| ids.map(&b));
        let reply = server.call(method.clone(), &target, body.clone()).await;
        *tally.replayed.entry(endpoint).or_default() += 1;
        replayed_here += 1;
        if recorded_status >= 400 {
            tally.errors_replayed += 1;
        }

        let at = format!("{name} #{} {method} {} (sent {target})", interaction.id, interaction.request.url);
        let mut problems = Vec::new();
        check_reply(
            endpoint,
            body.as_ref(),
            recorded_status,
            recorded_body.as_ref(),
            &reply,
            &mut ids,
            &at,
            &mut problems,
        );
        mismatches.extend(problems);
    }
    if replayed_here > 0 {
        tally.files_replayed += 1;
    }
}

/// Compares our reply with the recorded response; on a create, learns the id mapping.
#[allow(clippy::too_many_arguments)]
fn check_reply(
    endpoint: Endpoint,
    sent: Option<&Value>,
    recorded_status: u16,
    recorded_body: Option<&Value>,
    reply: &Reply,
    ids: &mut Ids,
    at: &str,
    problems: &mut Vec<String>,
) {
    let status = reply.status.as_u16();
    if status != recorded_status {
        problems.push(format!(
            "{at}: status {status}, Auth0 answered {recorded_status}; our body: {}; Auth0's body: {}",
            reply.text,
            recorded_body.map_or_else(String::new, Value::to_string)
        ));
        return;
    }
    let Some(recorded_body) = recorded_body else {
        if !reply.text.is_empty() {
            problems.push(format!("{at}: Auth0 answered an empty body, ours is {}", reply.text));
        }
        return;
    };

    if endpoint == Endpoint::Create && (200..300).contains(&status) {
        learn_created_id(sent, recorded_body, &reply.body, ids, at, problems);
    }
    let expected = ids.map(recorded_body);
    if recorded_status >= 400 {
        // Error bodies are deterministic: statusCode, error, message, errorCode (and so keys).
        if expected != reply.body {
            problems.push(format!("{at}: error body differs: expected {expected}, got {}", reply.text));
        }
    } else if matches!(endpoint, Endpoint::List | Endpoint::ByEmail) {
        compare_listing(&expected, &reply.body, at, problems);
    } else {
        compare_user(&expected, &reply.body, at, problems);
    }
}

/// Maps the recorded new user's id to ours. A `user_id` in the payload makes the id
/// deterministic (`<provider>|<given>`); otherwise both must be generated the same way.
fn learn_created_id(
    sent: Option<&Value>,
    recorded: &Value,
    ours: &Value,
    ids: &mut Ids,
    at: &str,
    problems: &mut Vec<String>,
) {
    let (Some(recorded_id), Some(our_id)) =
        (recorded.get("user_id").and_then(Value::as_str), ours.get("user_id").and_then(Value::as_str))
    else {
        problems.push(format!("{at}: no user_id to map (Auth0: {recorded}; ours: {ours})"));
        return;
    };
    let given = sent.and_then(|b| b.get("user_id")).and_then(Value::as_str).filter(|s| !s.is_empty());
    match given {
        Some(_) if our_id != recorded_id => {
            problems.push(format!("{at}: custom user_id: expected {recorded_id}, got {our_id}"));
        }
        Some(_) => {}
        None => {
            let provider = recorded_id.split_once('|').map(|(p, _)| p).unwrap_or_default();
            let generated = our_id.strip_prefix(provider).and_then(|rest| rest.strip_prefix('|')).is_some_and(|id| {
                id.len() == 24 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            });
            if !generated {
                problems.push(format!(
                    "{at}: generated user_id {our_id} is not `{provider}|` + 24 lowercase hex digits like Auth0's {recorded_id}"
                ));
            }
        }
    }
    ids.insert(recorded_id, our_id);
}

fn recording_files() -> Vec<PathBuf> {
    let dir = recordings_dir();
    let mut files = Vec::new();
    for folder in ["go-auth0", "go-auth0-other", "terraform-provider-auth0"] {
        let folder = dir.join(folder);
        let entries = std::fs::read_dir(&folder).unwrap_or_else(|e| panic!("read {}: {e}", folder.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[tokio::test]
async fn recorded_users_traffic_replays_identically() {
    let mut tally = Tally::default();
    let mut mismatches = Vec::new();
    for file in recording_files() {
        replay_file(&file, &mut tally, &mut mismatches).await;
    }

    eprintln!(
        "recordings: {} files ({} replayed on a fresh server), {} interactions: {} replayed, {} skipped",
        tally.files,
        tally.files_replayed,
        tally.interactions,
        tally.replayed_total(),
        tally.skipped_total()
    );
    for (endpoint, count) in &tally.replayed {
        eprintln!("  replayed {count:4}  {}", endpoint.label());
    }
    eprintln!("  replayed {:4}  of them recorded errors", tally.errors_replayed);
    for (skip, count) in &tally.skipped {
        eprintln!("  skipped  {count:4}  {}", skip.label());
    }
    assert_eq!(tally.replayed_total() + tally.skipped_total(), tally.interactions, "every interaction is counted");

    assert!(
        mismatches.is_empty(),
        "{} mismatches with Auth0's recorded responses:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );

    assert!(tally.files_replayed >= MIN_FILES_REPLAYED, "only {} files replayed", tally.files_replayed);
    assert!(tally.replayed_total() >= MIN_REPLAYED, "only {} interactions replayed", tally.replayed_total());
    for (endpoint, floor) in MIN_REPLAYED_PER_ENDPOINT {
        let count = tally.replayed.get(endpoint).copied().unwrap_or_default();
        assert!(count >= *floor, "only {count} {} interactions replayed (floor {floor})", endpoint.label());
    }
    assert!(tally.errors_replayed >= MIN_ERRORS_REPLAYED, "only {} recorded errors replayed", tally.errors_replayed);
}
