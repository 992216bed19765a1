//! Search benchmark: generates a realistic user base (deterministically), then measures the
//! server-side latency of typical searches: parsing, SQL, fetching and rendering the page, as
//! the `GET /api/v2/users` handler does, minus HTTP.
//!
//!     cargo run --release --example search_bench -- [--users 1000000] [--database-url URL] [--runs 200]
//!
//! The data set is created once per database (its size and creation time are printed) and
//! reused by later runs.

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use roster::domain::time;
use roster::domain::user::{Identity, Projection, User};
use roster::search;
use roster::search::{Sort, SortField, UserSearch, Window};
use roster::store::{NewUser, Store};
use serde_json::{Map, Value, json};

const FIRST: &[&str] = &[
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "William",
    "Elizabeth",
    "David",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Chen",
    "Aisha",
    "Mohammed",
    "Sofia",
    "Lucas",
    "Yuki",
    "Olga",
    "Mateo",
    "Priya",
    "Kwame",
    "Ingrid",
    "José",
    "Zoë",
    "Björn",
];
const LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sánchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Müller",
    "Nakamura",
    "Okafor",
    "Kowalski",
    "Andersson",
    "Rossi",
];
const DOMAINS: &[&str] =
    &["gmail.com", "yahoo.com", "outlook.com", "example.com", "acme.io", "globex.net", "initech.org", "umbrella.co"];
const PLANS: &[&str] = &["free", "free", "free", "pro", "pro", "team", "enterprise"];
const CITIES: &[&str] = &["Paris", "London", "Seattle", "Tokyo", "Lagos", "São Paulo", "Berlin", "Sydney", "Toronto"];
const ROLES: &[&str] = &["admin", "editor", "viewer", "billing", "support"];

fn pick<'a>(rng: &mut StdRng, items: &'a [&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

fn generate(index: u64, rng: &mut StdRng) -> User {
    let first = pick(rng, FIRST);
    let last = pick(rng, LAST);
    let start = time::parse("2023-01-01T00:00:00.000Z").unwrap();
    let created = start + chrono::Duration::milliseconds(rng.random_range(0..3 * 365 * 86_400_000i64));
    let (connection, provider) = match rng.random_range(0..100) {
        0..85 => ("Username-Password-Authentication", "auth0"),
        85..95 => ("email", "email"),
        _ => ("sms", "sms"),
    };
    let id = format!("{:08x}{:016x}", created.timestamp(), index);
    let email = format!("{}.{}{}@{}", first.to_lowercase(), last.to_lowercase(), index, pick(rng, DOMAINS));
    let sms = provider == "sms";
    let logins = rng.random_bool(0.8).then(|| rng.random_range(1..500i64));
    let mut app_metadata = Map::new();
    app_metadata.insert("plan".into(), json!(pick(rng, PLANS)));
    app_metadata.insert("tenant_id".into(), json!(format!("t{}", rng.random_range(0..2000))));
    if rng.random_bool(0.3) {
        let roles: Vec<&str> = (0..rng.random_range(1..3)).map(|_| pick(rng, ROLES)).collect();
        app_metadata.insert("roles".into(), json!(roles));
    }
    let user_metadata = rng.random_bool(0.6).then(|| {
        let mut m = Map::new();
        m.insert("locale".into(), json!(["en", "fr", "de", "ja", "pt"][rng.random_range(0..5)]));
        m.insert(
            "address".into(),
            json!({"city": pick(rng, CITIES), "zip": format!("{:05}", rng.random_range(0..99999))}),
        );
        if rng.random_bool(0.2) {
            m.insert("newsletter".into(), Value::Bool(rng.random_bool(0.5)));
        }
        m
    });
    User {
        user_id: format!("{provider}|{id}"),
        email: (!sms).then(|| email.clone()),
        email_verified: Some(rng.random_bool(0.7)),
        username: None,
        phone_number: sms.then(|| format!("+1{:010}", index)),
        phone_verified: sms.then_some(true),
        name: Some(format!("{first} {last}")),
        nickname: Some(if sms { format!("+1{:010}", index) } else { email.split('@').next().unwrap().to_owned() }),
        given_name: rng.random_bool(0.5).then(|| first.to_owned()),
        family_name: rng.random_bool(0.5).then(|| last.to_owned()),
        picture: Some(format!(
            "https://s.gravatar.com/avatar/{index:032x}?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2F{}.png",
            &first[..1].to_lowercase()
        )),
        blocked: rng.random_bool(0.01).then_some(true),
        app_metadata: Some(app_metadata),
        user_metadata,
        identities: vec![Identity {
            connection: connection.to_owned(),
            user_id: id,
            provider: provider.to_owned(),
            is_social: false,
            profile_data: None,
        }],
        multifactor: None,
        multifactor_last_modified: None,
        last_ip: logins.map(|_| {
            format!("10.{}.{}.{}", rng.random_range(0..255), rng.random_range(0..255), rng.random_range(1..255))
        }),
        last_login: logins.map(|_| created + chrono::Duration::hours(rng.random_range(1..20_000))),
        logins_count: logins,
        last_password_reset: None,
        created_at: created,
        updated_at: created,
    }
}

fn argument(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

/// Latencies of `runs` identical searches after 5 warm-up runs: (p50, p99, total). With
/// `write_between`, a write precedes each search, so a total is counted every time rather than
/// taken from the store's cache of recent totals (as a client paging through results gets it).
async fn measure(
    store: &Store,
    search: (&str, Option<Sort>, bool),
    write_between: Option<&str>,
    runs: usize,
) -> (f64, f64, Option<u64>) {
    let (q, sort, with_total) = search;
    let mut samples = Vec::with_capacity(runs);
    let mut total = None;
    for run in 0..runs + 5 {
        if let Some(user_id) = write_between {
            store.update_user(user_id, None, |user| user.updated_at = time::now()).await.expect("write");
        }
        let started = Instant::now();
        let query = search::parse(q).expect("benchmark queries parse");
        let page = store
            .search_users(&UserSearch { query, sort, window: Window::Page { offset: 0, limit: 50 }, with_total })
            .await
            .expect("search");
        let rendered: Vec<Value> = page.users.iter().map(|u| Value::Object(u.to_json(&Projection::all()))).collect();
        let body = serde_json::to_vec(&rendered).unwrap();
        std::hint::black_box(body);
        if run >= 5 {
            samples.push(started.elapsed());
        }
        total = page.total;
    }
    samples.sort();
    (percentile(&samples, 0.5), percentile(&samples, 0.99), total)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let users: u64 = argument("--users").map_or(1_000_000, |n| n.parse().expect("--users N"));
    let runs: usize = argument("--runs").map_or(200, |n| n.parse().expect("--runs N"));
    let default_path = format!("target/bench/search-{users}.db");
    let url = argument("--database-url").unwrap_or_else(|| format!("sqlite://{default_path}"));
    if url.starts_with("sqlite://") {
        std::fs::create_dir_all("target/bench")?;
    }
    let store = roster::store::open(&url).await?;
    let existing = store
        .search_users(&UserSearch {
            query: search::Query::All,
            sort: None,
            window: Window::Page { offset: 0, limit: 1 },
            with_total: true,
        })
        .await?
        .total
        .unwrap_or(0);
    if existing < users {
        // A real bcrypt hash (cost 10), as a database user has; the same one for everyone.
        let hash = bcrypt::hash("Passw0rd!", 10)?;
        let started = Instant::now();
        let mut rng = StdRng::seed_from_u64(2026);
        // One bulk load: one transaction, fed in batches (indexes built at its end when the
        // directory starts empty).
        let load = store.bulk_load().await;
        let mut batch = Vec::with_capacity(10_000);
        for index in 0..users {
            let user = generate(index, &mut rng);
            let password = (user.identities[0].provider == "auth0").then(|| hash.clone());
            if index >= existing {
                batch.push(NewUser::without_roles(user, password));
            }
            if batch.len() == 10_000 || (index + 1 == users && !batch.is_empty()) {
                anyhow::ensure!(load.add(std::mem::take(&mut batch)).await, "the load failed");
                if (index + 1) % 100_000 == 0 {
                    eprintln!("  {} users, {:.0} s", index + 1, started.elapsed().as_secs_f64());
                }
            }
        }
        load.finish().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        println!("created {} users in {:.1} s", users - existing, started.elapsed().as_secs_f64());
    }
    store.close().await;
    if let Some(path) = url.strip_prefix("sqlite://") {
        let size: u64 = ["", "-wal", "-shm"]
            .iter()
            .filter_map(|suffix| std::fs::metadata(format!("{path}{suffix}")).ok())
            .map(|m| m.len())
            .sum();
        println!("database size: {:.0} MB ({users} users)", size as f64 / 1e6);
    }
    let store = roster::store::open(&url).await?;
    // Exact lookups target a user that exists, from the middle of the data set.
    let sample = store
        .search_users(&UserSearch {
            query: search::Query::All,
            sort: None,
            window: Window::Page { offset: users / 2, limit: 1 },
            with_total: false,
        })
        .await?
        .users
        .remove(0);
    let exact_email = format!("email:\"{}\"", sample.email.as_deref().unwrap_or_default().to_uppercase());
    let exact_user_id = format!("user_id:\"{}\"", sample.user_id);

    let cases: &[(&str, &str, Option<Sort>)] = &[
        ("exact email (any case)", &exact_email, None),
        ("exact user_id", &exact_user_id, None),
        ("prefix wildcard on email", "email:jenn*", None),
        ("prefix wildcard on name", "name:jo*", None),
        ("contains wildcard on name", "name:*ller*", None),
        ("metadata equality (tenant)", "app_metadata.tenant_id:\"t1234\"", None),
        ("metadata equality (plan)", "app_metadata.plan:enterprise", None),
        ("date range", "created_at:[2024-03-01 TO 2024-03-31]", None),
        (
            "3-clause boolean",
            "app_metadata.plan:pro AND email_verified:true AND NOT user_metadata.address.city:Paris",
            None,
        ),
        ("listing sorted by email", "", Some(Sort { field: SortField::Email, descending: false })),
    ];
    println!("\n{runs} runs each (after 5 warm-up runs), page of 50; latency in ms");
    println!("| query | q | p50 | p99 | with totals, counted: p50 | p99 | with totals, cached: p50 | total |");
    println!("|---|---|---|---|---|---|---|---|");
    let writer = Some(sample.user_id.as_str());
    for (label, q, sort) in cases {
        let (p50, p99, _) = measure(store.as_ref(), (q, *sort, false), None, runs).await;
        let (counted50, counted99, total) = measure(store.as_ref(), (q, *sort, true), writer, runs.min(30)).await;
        let (cached50, _, _) = measure(store.as_ref(), (q, *sort, true), None, runs).await;
        println!(
            "| {label} | `{q}` | {p50:.2} | {p99:.2} | {counted50:.2} | {counted99:.2} | {cached50:.2} | {} |",
            total.unwrap_or_default()
        );
    }
    store.close().await;
    Ok(())
}
