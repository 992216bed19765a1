//! Replaying Auth0's recorded traffic: the recordings (go-vcr v2 YAML from go-auth0 and the
//! Terraform provider, see `tests/recordings/SOURCE.md`), a server configured like the tenant
//! they were recorded on, and the replay loop `roles.rs` and `organizations.rs` share, each with
//! its own `Expectations`. (`recordings.rs` compares users bodies its own way, and collects every
//! mismatch instead of stopping at the first.)

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use reqwest::{Method, Url};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::server::{Server, encode};

/// Where the recordings in this repository live.
pub fn recordings_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/recordings")
}

// ---------------------------------------------------------------------------------------------
// go-vcr v2 cassettes

#[derive(Debug, Deserialize)]
pub struct Cassette {
    pub interactions: Vec<Interaction>,
}

impl Cassette {
    /// Reads and parses a recording; `name` is how a failure names it.
    pub fn load(path: &Path, name: &str) -> Self {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {name}: {e}"));
        serde_norway::from_str(&text).unwrap_or_else(|e| panic!("parse {name}: {e}"))
    }
}

#[derive(Debug, Deserialize)]
pub struct Interaction {
    pub id: u64,
    pub request: RecordedRequest,
    pub response: RecordedResponse,
}

#[derive(Debug, Deserialize)]
pub struct RecordedRequest {
    #[serde(default)]
    pub body: Option<String>,
    pub url: String,
    pub method: String,
}

#[derive(Debug, Deserialize)]
pub struct RecordedResponse {
    #[serde(default)]
    pub body: Option<String>,
    pub code: u16,
}

/// A recorded body as JSON; `""` and `null` (go-auth0 sends `null` on GET) mean no body.
pub fn recorded_json(body: Option<&str>) -> Option<Value> {
    let text = body.unwrap_or_default().trim();
    if text.is_empty() {
        return None;
    }
    let value: Value =
        serde_json::from_str(text).unwrap_or_else(|error| panic!("recorded body is not JSON ({error}): {text}"));
    (!value.is_null()).then_some(value)
}

// ---------------------------------------------------------------------------------------------
// Tenant configuration

const DATABASE_CONNECTION: &str = "Username-Password-Authentication";
/// Roster's (and Auth0's) default maximum username length.
const DEFAULT_USERNAME_MAX: usize = 15;
/// Auth0's ceiling on a configured maximum username length.
const CONFIGURABLE_USERNAME_MAX: usize = 128;

/// How the recorded tenant's database connection was configured, as far as the recordings show.
#[derive(Debug)]
pub struct TenantShape {
    /// Whether the connection required a username. Every recorded tenant but one did: the
    /// requests send `username` (which Auth0 refuses on a connection without
    /// `requires_username`). TestAccDataSourceUserOrganizations creates a user without a
    /// username and gets a 201 with none, so its tenant did not.
    requires_username: bool,
    /// The longest username the recordings create or set. Auth0's default maximum is 15, as is
    /// Roster's; the Terraform tenants were configured to allow longer ones (up to 22 chars are
    /// recorded, all answered 2xx), so those servers get a raised maximum.
    longest_username: usize,
}

impl TenantShape {
    pub fn of(cassette: &Cassette) -> Self {
        let mut shape = TenantShape { requires_username: false, longest_username: 0 };
        for interaction in &cassette.interactions {
            let Ok(url) = Url::parse(&interaction.request.url) else { continue };
            let path = url.path();
            let creates = interaction.request.method == "POST" && path == "/api/v2/users";
            let updates = interaction.request.method == "PATCH"
                && path.strip_prefix("/api/v2/users/").is_some_and(|id| !id.is_empty() && !id.contains('/'));
            if !creates && !updates {
                continue;
            }
            let Some(Value::Object(body)) = recorded_json(interaction.request.body.as_deref()) else { continue };
            if let Some(username) = body.get("username").and_then(Value::as_str) {
                if creates {
                    shape.requires_username = true;
                }
                if (200..300).contains(&interaction.response.code) {
                    shape.longest_username = shape.longest_username.max(username.chars().count());
                }
            }
        }
        shape
    }

    pub async fn start(&self) -> Server {
        let flag = if self.requires_username { "true" } else { "false" };
        let server = Server::start_with(&["--requires-username", flag]).await;
        if self.longest_username > DEFAULT_USERNAME_MAX {
            raise_username_max(&server, CONFIGURABLE_USERNAME_MAX).await;
        }
        server
    }
}

/// Sets `options.validation.username.max` of the database connection, as an Auth0 admin does in
/// the dashboard, through the store (the server reads connections from the database on every
/// request).
async fn raise_username_max(server: &Server, max: usize) {
    let store = server.store().await;
    let connection =
        store.connection_by_name(DATABASE_CONNECTION).await.expect("read connection").expect("database connection");
    let raise = move |record: &mut roster::domain::connection::ConnectionRecord| {
        let validation = record.connection.options.entry("validation").or_insert_with(|| json!({}));
        validation["username"]["max"] = json!(max);
    };
    store.update_connection(&connection.id, raise).await.expect("save connection");
    store.close().await;
}

// ---------------------------------------------------------------------------------------------
// Replay, stopping at the first difference

/// Recorded → Roster's: ids (of users, roles, resource servers, organizations...) and checkpoint
/// cursors (`None` where Roster's page had no `next`).
#[derive(Default)]
pub struct Mapping {
    ids: Vec<(String, String)>,
    cursors: HashMap<String, Option<String>>,
}

impl Mapping {
    pub fn learn(&mut self, recorded: &str, ours: &str) {
        if recorded != ours {
            self.ids.push((recorded.to_owned(), ours.to_owned()));
        }
        // An authentication method's device id (`phone|dev_…`) also names its channels
        // (`sms|dev_…`) and its enrollment (`dev_…`).
        if let (Some((_, theirs)), Some((_, ours))) = (recorded.split_once("|dev_"), ours.split_once("|dev_")) {
            self.learn(&format!("dev_{theirs}"), &format!("dev_{ours}"));
        }
    }

    /// `text` with every recorded id, plain or percent-encoded, replaced by Roster's.
    pub fn text(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for (recorded, ours) in &self.ids {
            text = text.replace(recorded.as_str(), ours).replace(&encode(recorded), &encode(ours));
        }
        text
    }

    pub fn value(&self, value: &Value) -> Value {
        serde_json::from_str(&self.text(&value.to_string())).unwrap()
    }
}

/// What one area's replay compares, and the documented differences from Auth0 it allows.
pub trait Expectations {
    /// The array a checkpoint page lists (a role's `users`, an organization's `members`).
    const CHECKPOINT_ITEMS: &str;
    /// Whether Auth0 gave a `next` after the last page of a checkpoint walk, which Roster does
    /// not: the empty page that followed it is then not asked for. Otherwise Roster's page must
    /// have a `next` wherever Auth0's had one.
    const NEXT_AFTER_LAST_PAGE: bool = false;

    /// Plays an interaction that only sets the scene some other way than sending it as recorded
    /// (`request_body` with ids mapped, `recorded` the answer Auth0 gave); true when it did.
    async fn set_scene(
        &self,
        _server: &mut Server,
        _mapping: &mut Mapping,
        _path: &str,
        _request_body: Option<&Value>,
        _recorded: Option<&Value>,
    ) -> bool {
        false
    }

    /// Whether Roster's answer on `path` is compared with Auth0's; otherwise only its status is.
    fn compares(&self, path: &str) -> bool;

    /// Turns Auth0's answer (ids mapped) into Roster's where they differ as documented.
    fn adjust_expected(&self, _file: &str, _path: &str, _expected: &mut Value) {}

    /// Applied to both answers before they are compared: replaces what neither side can
    /// predict (creation times, generated secrets) with what it must look like.
    fn normalize(&self, _path: &str, _answer: &mut Value) {}
}

/// Replays the recording `file` against a fresh server configured like its tenant: every
/// interaction must answer Auth0's status and, where `expectations` compare it, Auth0's body,
/// with the recorded ids and cursors mapped to Roster's. Returns how many bodies were compared.
///
/// A checkpoint walk lists the same items, as many per page, in Roster's order (items added
/// together come by user id, and Roster's ids do not sort as Auth0's did).
pub async fn replay<E: Expectations>(file: &str, expectations: &E) -> usize {
    let cassette = Cassette::load(&recordings_dir().join(file), file);
    let mut server = TenantShape::of(&cassette).start().await;
    let mut mapping = Mapping::default();
    let mut compared = 0;
    let mut walk = Walk::default();
    for (index, interaction) in cassette.interactions.iter().enumerate() {
        let url = Url::parse(&interaction.request.url).unwrap();
        let path = url.path();
        // The test server hands out its own tokens.
        if path == "/oauth/token" {
            continue;
        }
        let context = format!("{file} #{index}: {} {url}", interaction.request.method);
        let method = Method::from_bytes(interaction.request.method.as_bytes()).unwrap();
        let request_body = recorded_json(interaction.request.body.as_deref()).map(|b| mapping.value(&b));
        let recorded = recorded_json(interaction.response.body.as_deref());
        if expectations.set_scene(&mut server, &mut mapping, path, request_body.as_ref(), recorded.as_ref()).await {
            continue;
        }

        // The query, with Auth0's cursor replaced by Roster's.
        let mut pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        if let Some(from) = pairs.iter_mut().find(|(k, _)| k == "from") {
            match mapping.cursors.get(&from.1) {
                Some(Some(ours)) => from.1 = ours.clone(),
                Some(None) => {
                    // Roster's previous page was the last; Auth0's next one was empty.
                    let recorded = recorded.expect("a listing");
                    assert_eq!(recorded[E::CHECKPOINT_ITEMS], json!([]), "{context}");
                    assert!(recorded.get("next").is_none(), "{context}");
                    mapping.cursors.clear();
                    walk.end(E::CHECKPOINT_ITEMS, &context);
                    continue;
                }
                None => panic!("{context}: unknown cursor"),
            }
        }
        let mut target = mapping.text(path);
        if !pairs.is_empty() {
            target = format!("{target}?{}", serde_urlencoded::to_string(&pairs).unwrap());
        }
        let reply = server.call(method.clone(), &target, request_body).await;
        assert_eq!(reply.status.as_u16(), interaction.response.code, "{context}: {}", reply.text);

        // Things a PUT created, in the order given: map their recorded ids to Roster's.
        if method == Method::PUT
            && let (Some(Value::Array(theirs)), Value::Array(ours)) = (&recorded, &reply.body)
        {
            assert_eq!(theirs.len(), ours.len(), "{context}: {}", reply.text);
            for (theirs, ours) in theirs.iter().zip(ours) {
                if let (Some(theirs), Some(ours)) = (theirs["id"].as_str(), ours["id"].as_str()) {
                    mapping.learn(theirs, ours);
                }
            }
        }
        // Created things: map their recorded ids to Roster's.
        if method == Method::POST
            && let Some(recorded) = &recorded
        {
            for key in ["user_id", "id"] {
                if let Some(theirs) = recorded[key].as_str() {
                    let ours = reply.body[key]
                        .as_str()
                        .unwrap_or_else(|| panic!("{context}: Roster's answer has no {key}: {}", reply.text));
                    mapping.learn(theirs, ours);
                }
            }
        }
        if !expectations.compares(path) {
            continue;
        }
        compared += 1;
        let Some(recorded) = recorded else {
            assert_eq!(reply.text, "", "{context}");
            continue;
        };
        let mut expected = mapping.value(&recorded);
        expectations.adjust_expected(file, path, &mut expected);
        let mut actual = reply.body.clone();
        expectations.normalize(path, &mut expected);
        expectations.normalize(path, &mut actual);
        if let Some(next) = expected.get("next").and_then(Value::as_str).map(str::to_owned) {
            // Auth0's cursor for Roster's (or for none: Roster's page was the last).
            let ours = actual.get("next").and_then(Value::as_str).map(str::to_owned);
            assert!(ours.is_some() || E::NEXT_AFTER_LAST_PAGE, "{context}: Roster's page has no next: {}", reply.text);
            mapping.cursors.insert(next, ours);
            expected.as_object_mut().unwrap().remove("next");
            actual.as_object_mut().unwrap().remove("next");
        }
        if pairs.iter().any(|(k, _)| k == "take" || k == "from") {
            // A checkpoint page: as many items as Auth0's; the walk's items are compared when it
            // ends.
            let page = |listing: &mut Value| {
                listing[E::CHECKPOINT_ITEMS].as_array_mut().map(std::mem::take).unwrap_or_default()
            };
            let (ours, theirs) = (page(&mut actual), page(&mut expected));
            assert_eq!(ours.len(), theirs.len(), "{context}: {}", reply.text);
            walk.ours.extend(ours);
            walk.theirs.extend(theirs);
            if !mapping.cursors.values().any(Option::is_none) && reply.body.get("next").is_none() {
                walk.end(E::CHECKPOINT_ITEMS, &context);
            }
        }
        assert_eq!(actual, expected, "{context}");
    }
    assert!(walk.ours.is_empty() && walk.theirs.is_empty(), "{file}: a checkpoint walk did not end");
    compared
}

/// The items a checkpoint walk listed so far: Roster's and Auth0's.
#[derive(Default)]
struct Walk {
    ours: Vec<Value>,
    theirs: Vec<Value>,
}

impl Walk {
    /// Compares the items the walk listed, whatever their pages, and starts afresh.
    fn end(&mut self, items: &str, context: &str) {
        let sorted = |items: &mut Vec<Value>| {
            let mut items = std::mem::take(items);
            items.sort_by_key(|item| item["user_id"].as_str().unwrap_or_default().to_owned());
            items
        };
        assert_eq!(sorted(&mut self.ours), sorted(&mut self.theirs), "{context}: the walk's {items}");
    }
}
