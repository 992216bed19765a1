//! Property tests: for generated users and generated queries, each store's SQL returns exactly
//! the users the reference evaluator selects. SQLite always; PostgreSQL too when
//! `ROSTER_TEST_POSTGRES_URL` names a server (each run gets its own database).

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde_json::{Map, Value, json};

use super::reference;
use crate::domain::time;
use crate::domain::user::{Identity, User};
use crate::search::{UserSearch, Window};
use crate::store::{NewUser, Store};

const CONNECTIONS: [(&str, &str); 3] =
    [("Username-Password-Authentication", "auth0"), ("email", "email"), ("sms", "sms")];
const WORDS: [&str; 8] = ["Jane", "jane", "JOHN", "Jo", "Müller", "ann-marie", "x*y", "bob"];
const DOMAINS: [&str; 3] = ["example.com", "Example.org", "mail.test"];
/// The organizations users may be members of (queries also name one that does not exist).
const ORGANIZATIONS: [&str; 2] = ["org_AAAAAAAAAAAAAAAA", "org_bbbbbbbbbbbbbbbb"];

fn pick<T: Clone + std::fmt::Debug + 'static>(items: &'static [T]) -> impl Strategy<Value = T> + Clone {
    (0..items.len()).prop_map(move |i| items[i].clone())
}

fn metadata() -> impl Strategy<Value = Option<Map<String, Value>>> {
    let leaf = prop_oneof![
        pick(&["gold", "silver", "Gold", "13"]).prop_map(Value::from),
        (0i64..3).prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ];
    let nested = leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map(pick(&["plan", "city", "tier"]), inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    });
    prop::option::of(
        prop::collection::btree_map(pick(&["plan", "address", "count", "tags"]), nested, 0..3)
            .prop_map(|m| m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()),
    )
}

#[derive(Debug, Clone)]
struct Draft {
    connection: usize,
    email_word: &'static str,
    domain: &'static str,
    name: Option<&'static str>,
    given_name: Option<&'static str>,
    nickname: &'static str,
    blocked: Option<bool>,
    verified: bool,
    logins: Option<i64>,
    day: i64,
    app_metadata: Option<Map<String, Value>>,
    user_metadata: Option<Map<String, Value>>,
    /// Indexes into `ORGANIZATIONS` of those the user is a member of.
    organizations: Vec<usize>,
}

impl Draft {
    fn organizations(&self) -> Vec<&'static str> {
        self.organizations.iter().map(|&i| ORGANIZATIONS[i]).collect()
    }
}

fn draft() -> impl Strategy<Value = Draft> {
    (
        (0..CONNECTIONS.len(), pick(&WORDS), pick(&DOMAINS), prop::option::of(pick(&WORDS))),
        (prop::option::of(pick(&WORDS)), pick(&WORDS), prop::option::of(any::<bool>()), any::<bool>()),
        (prop::option::of(0i64..4), 0i64..60, metadata(), metadata()),
        prop::collection::btree_set(0..ORGANIZATIONS.len(), 0..=ORGANIZATIONS.len()),
    )
        .prop_map(
            |(
                (connection, email_word, domain, name),
                (given_name, nickname, blocked, verified),
                (logins, day, app_metadata, user_metadata),
                organizations,
            )| Draft {
                connection,
                email_word,
                domain,
                name,
                given_name,
                nickname,
                blocked,
                verified,
                logins,
                day,
                app_metadata,
                user_metadata,
                organizations: organizations.into_iter().collect(),
            },
        )
}

fn build(index: usize, draft: &Draft) -> User {
    let (connection, provider) = CONNECTIONS[draft.connection];
    let id = format!("{index:024x}");
    let created = time::parse("2024-01-01T00:00:00.000Z").unwrap() + chrono::Duration::days(draft.day);
    let sms = provider == "sms";
    User {
        user_id: format!("{provider}|{id}"),
        // Unique within each connection, as the store requires.
        email: (!sms).then(|| format!("{}{index}@{}", draft.email_word.to_lowercase(), draft.domain)),
        email_verified: Some(draft.verified),
        username: None,
        phone_number: sms.then(|| format!("+1415555{index:04}")),
        phone_verified: sms.then_some(draft.verified),
        name: draft.name.map(str::to_owned),
        nickname: Some(draft.nickname.to_owned()),
        given_name: draft.given_name.map(str::to_owned),
        family_name: None,
        picture: None,
        blocked: draft.blocked,
        app_metadata: draft.app_metadata.clone().filter(|m| !m.is_empty()),
        user_metadata: draft.user_metadata.clone(),
        identities: vec![Identity {
            connection: connection.to_owned(),
            user_id: id,
            provider: provider.to_owned(),
            is_social: false,
            profile_data: None,
        }],
        multifactor: None,
        multifactor_last_modified: None,
        last_ip: None,
        last_login: draft.logins.map(|n| created + chrono::Duration::hours(n)),
        logins_count: draft.logins,
        last_password_reset: None,
        created_at: created,
        updated_at: created,
    }
}

/// One searchable condition, as query text.
fn atom() -> impl Strategy<Value = String> {
    let text_field = pick(&["email", "name", "given_name", "nickname", "user_id", "email.domain", "phone_number"]);
    let word = pick(&["jane", "JANE", "jo", "john", "müller", "ann-marie", "x\\*y", "bob", "example.com", "auth0"]);
    prop_oneof![
        (text_field.clone(), word.clone()).prop_map(|(f, w)| format!("{f}:{w}")),
        (text_field.clone(), word.clone()).prop_map(|(f, w)| format!("{f}:{w}*")),
        (text_field.clone(), pick(&["ane", "ohn", "üll", "nn-", "mple", "ane*"]))
            .prop_map(|(f, w)| format!("{f}:*{w}*")),
        (text_field.clone(), pick(&["ne", "hn", "ob"])).prop_map(|(f, w)| format!("{f}:j*{w}")),
        (text_field.clone(), pick(&["\"Jane\"", "\"x*y\"", "\"ann-marie\""])).prop_map(|(f, w)| format!("{f}:{w}")),
        word.prop_map(|w| w.to_owned()),
        (pick(&["email_verified", "blocked"]), any::<bool>()).prop_map(|(f, b)| format!("{f}:{b}")),
        (0i64..4).prop_map(|n| format!("logins_count:{n}")),
        (prop::option::of(0i64..4), prop::option::of(0i64..4), any::<bool>(), any::<bool>()).prop_map(
            |(lo, hi, li, ui)| {
                let bound = |b: Option<i64>| b.map_or("*".to_owned(), |n| n.to_string());
                format!(
                    "logins_count:{}{} TO {}{}",
                    if li { '[' } else { '{' },
                    bound(lo),
                    bound(hi),
                    if ui { ']' } else { '}' }
                )
            }
        ),
        (0i64..60, 0i64..60).prop_map(|(a, b)| {
            let day =
                |d: i64| time::format(&(time::parse("2024-01-01T00:00:00.000Z").unwrap() + chrono::Duration::days(d)));
            format!("created_at:[{} TO {}]", &day(a.min(b))[..10], &day(a.max(b))[..10])
        }),
        pick(&["2024-01", "2024-02", "2024-01-15"]).prop_map(|d| format!("created_at:{d}")),
        (
            pick(&["app_metadata", "user_metadata"]),
            pick(&["plan", "count", "tags", "address.city", "address.tier", "plan.tier"]),
            pick(&["gold", "Gold", "13", "0", "1", "true", "false"])
        )
            .prop_map(|(m, p, v)| format!("{m}.{p}:{v}")),
        pick(&[
            "email",
            "name",
            "given_name",
            "logins_count",
            "blocked",
            "last_login",
            "app_metadata",
            "user_metadata.plan",
            "user_metadata.address",
            "app_metadata.tags",
            "identities.connection"
        ])
        .prop_map(|f| format!("_exists_:{f}")),
        pick(&["Username-Password-Authentication", "sms", "email", "google-oauth2"])
            .prop_map(|c| format!("identities.connection:\"{c}\"")),
        pick(&["auth0", "sms"]).prop_map(|p| format!("identities.provider:{p}")),
        pick(&["org_AAAAAAAAAAAAAAAA", "org_bbbbbbbbbbbbbbbb", "org_0000000000000000", "org_AAAAAAAAAAAAAAAa"])
            .prop_map(|o| format!("organization_id:\"{o}\"")),
        pick(&["organization_id:org_bbbbbbbbbbbbbbbb", "organization_id:*", "_exists_:organization_id"])
            .prop_map(str::to_owned),
    ]
}

fn query_text() -> impl Strategy<Value = String> {
    atom().prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} AND {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) OR ({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} {b}")),
            inner.clone().prop_map(|a| format!("NOT ({a})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("NOT ({a}) OR ({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) || -({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("+({a}) -({b})")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("({a}) && !({b})")),
        ]
    })
}

pub(crate) async fn stores() -> Vec<(String, std::sync::Arc<Store>, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("search.db").display());
    let mut stores = vec![("sqlite".to_owned(), crate::store::open(&url).await.unwrap(), Some(dir))];
    if let Ok(server) = std::env::var("ROSTER_TEST_POSTGRES_URL") {
        let url = fresh_postgres_database(&server).await;
        stores.push(("postgres".to_owned(), crate::store::open(&url).await.unwrap(), None));
    }
    stores
}

/// A new, empty database on the PostgreSQL server at `server` (a URL naming any database).
async fn fresh_postgres_database(server: &str) -> String {
    use sqlx::Connection;
    let name = format!("roster_search_{}", crate::domain::ids::random_alphanumeric(12).to_lowercase());
    let mut admin = sqlx::PgConnection::connect(server).await.expect("connect to ROSTER_TEST_POSTGRES_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await.unwrap();
    admin.close().await.ok();
    let (base, _) = server.rsplit_once('/').expect("a URL with a database name");
    format!("{base}/{name}")
}

/// Stores the organizations of `ORGANIZATIONS` and each user's memberships of them.
async fn add_memberships(store: &Store, users: &[User], memberships: &[Vec<&str>]) -> anyhow::Result<()> {
    let now = time::parse("2024-01-01T00:00:00.000Z").unwrap();
    for (i, id) in ORGANIZATIONS.iter().enumerate() {
        let organization = crate::domain::organization::Organization {
            id: (*id).to_owned(),
            name: format!("org-{i}"),
            display_name: None,
            settings: Default::default(),
            created_at: now,
        };
        store.create_organization(&organization, &[]).await?;
        let members: Vec<String> = users
            .iter()
            .zip(memberships)
            .filter(|(_, organizations)| organizations.contains(id))
            .map(|(user, _)| user.user_id.clone())
            .collect();
        if !members.is_empty() {
            store.add_members(id, &members, now).await?;
        }
    }
    Ok(())
}

fn check(users: &[User], memberships: &[Vec<&str>], queries: &[String]) -> Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        for (name, store, _dir) in stores().await {
            let batch: Vec<NewUser> = users.iter().map(|u| NewUser::without_roles(u.clone(), None)).collect();
            store.import_users(batch).await.map_err(|e| TestCaseError::fail(format!("{name}: import: {e}")))?;
            add_memberships(store.as_ref(), users, memberships)
                .await
                .map_err(|e| TestCaseError::fail(format!("{name}: memberships: {e:#}")))?;
            for q in queries {
                let Ok(query) = super::parse(q) else { continue };
                let expected: Vec<&str> = users
                    .iter()
                    .zip(memberships)
                    .filter(|(u, organizations)| reference::matches(&query, u, organizations))
                    .map(|(u, _)| u.user_id.as_str())
                    .collect();
                let search = UserSearch {
                    query: query.clone(),
                    sort: None,
                    window: Window::Page { offset: 0, limit: 1000 },
                    with_total: true,
                };
                let found = store
                    .search_users(&search)
                    .await
                    .map_err(|e| TestCaseError::fail(format!("{name}: {q}: {e:#}")))?;
                let got: Vec<&str> = found.users.iter().map(|u| u.user_id.as_str()).collect();
                prop_assert_eq!(&got, &expected, "{} disagrees with the reference on {:?} ({:?})", name, q, query);
                prop_assert_eq!(found.total, Some(expected.len() as u64), "{}: total for {:?}", name, q);
            }
            store.close().await;
        }
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn sql_agrees_with_the_reference(drafts in prop::collection::vec(draft(), 1..40), queries in prop::collection::vec(query_text(), 1..25)) {
        let users: Vec<User> = drafts.iter().enumerate().map(|(i, d)| build(i, d)).collect();
        let memberships: Vec<Vec<&str>> = drafts.iter().map(Draft::organizations).collect();
        check(&users, &memberships, &queries)?;
    }
}

#[test]
fn generated_queries_mostly_parse() {
    // Guards the generator: if most generated queries were refused, the property above would
    // check little.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = query_text();
    let mut parsed = 0;
    for _ in 0..200 {
        let q = strategy.new_tree(&mut runner).unwrap().current();
        if super::parse(&q).is_ok() {
            parsed += 1;
        }
    }
    assert!(parsed > 150, "only {parsed} of 200 generated queries parse");
}

#[test]
fn reference_examples() {
    let user = build(
        7,
        &Draft {
            connection: 0,
            email_word: "Jane",
            domain: "Example.org",
            name: Some("Jane"),
            given_name: None,
            nickname: "ann-marie",
            blocked: None,
            verified: true,
            logins: Some(2),
            day: 14,
            app_metadata: Some(json!({"address": [{"city": "gold"}], "plan": "gold"}).as_object().unwrap().clone()),
            user_metadata: None,
            organizations: vec![1],
        },
    );
    let organizations = [ORGANIZATIONS[1]];
    let yes = |q: &str| assert!(reference::matches(&super::parse(q).unwrap(), &user, &organizations), "{q}");
    let no = |q: &str| assert!(!reference::matches(&super::parse(q).unwrap(), &user, &organizations), "{q}");
    yes("email:JANE7@example.org");
    yes("email.domain:example.org");
    yes("name:*ane");
    yes("nickname:ann*");
    yes("app_metadata.address.city:gold");
    yes("_exists_:app_metadata.address");
    yes("logins_count:[1 TO 2]");
    yes("created_at:2024-01-15");
    yes("NOT blocked:true");
    no("blocked:false");
    // Auth0's documented example: a negation joined by OR is an alternative.
    no("NOT _exists_:logins_count OR logins_count:0");
    yes("NOT _exists_:logins_count OR logins_count:[1 TO 2]");
    yes("logins_count:0 OR NOT blocked:true");
    no("app_metadata.plan:Gold");
    no("_exists_:user_metadata");
    no("logins_count:{2 TO *]");
    yes("organization_id:\"org_bbbbbbbbbbbbbbbb\"");
    yes("_exists_:organization_id");
    no("organization_id:org_AAAAAAAAAAAAAAAA");
    no("organization_id:org_BBBBBBBBBBBBBBBB");
    assert!(super::parse("organization_id:org_*").is_err() && super::parse("organization_id:[a TO b]").is_err());
}
