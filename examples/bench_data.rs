//! The CRUD benchmark's data set (bench/crud.sh): N passwordless users on the `email`
//! connection (so no bcrypt) with realistic profiles and a little metadata, written through
//! roster's own store so that the rows are exactly what roster writes. Deterministic: the same
//! N gives the same users on every run and every database.
//!
//!     cargo run --release --example bench_data -- --database-url URL [--users 100000] \
//!         --ids IDS_FILE --emails EMAILS_FILE
//!
//! The database must be a fresh one that `roster serve` has started on once (that creates the
//! tenant and its `email` connection). IDS_FILE and EMAILS_FILE get one user id and one email a
//! line, URL-encoded (`email%7C…`, `…%40example.com`), for bench/wrk/read_random.lua and
//! email_random.lua.

use std::io::Write;
use std::time::Instant;

use chrono::Duration;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use roster::domain::time;
use roster::domain::user::{Identity, User};
use roster::store::NewUser;
use serde_json::{Map, json};

#[rustfmt::skip]
const FIRST: &[&str] = &[
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William", "Elizabeth", "David",
    "Barbara", "Chen", "Aisha", "Mohammed", "Sofia", "Lucas", "Yuki", "Olga", "Mateo", "Priya", "Kwame", "Ingrid",
];
#[rustfmt::skip]
const LAST: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Lee",
    "Perez", "Thompson", "White", "Harris", "Clark", "Nakamura", "Okafor", "Kowalski", "Andersson", "Rossi",
];
const DOMAINS: &[&str] = &["gmail.com", "yahoo.com", "outlook.com", "example.com", "acme.io", "globex.net"];
const LOCALES: &[&str] = &["en", "en", "fr", "de", "ja", "pt"];
const PLANS: &[&str] = &["free", "free", "free", "pro", "team"];
/// Unreserved characters stay; everything else (`|`, `@`, `+`) is percent-encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

fn pick<'a>(rng: &mut StdRng, items: &'a [&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

fn generate(index: u64, rng: &mut StdRng) -> User {
    let (first, last) = (pick(rng, FIRST), pick(rng, LAST));
    let start = time::parse("2023-01-01T00:00:00.000Z").expect("a timestamp");
    let created = start + Duration::milliseconds(rng.random_range(0..3 * 365 * 86_400_000i64));
    let id = format!("{:08x}{:016x}", created.timestamp(), index);
    let local = format!("{}.{}{index}", first.to_lowercase(), last.to_lowercase());
    let email = format!("{local}@{}", pick(rng, DOMAINS));
    let logins = rng.random_bool(0.8).then(|| rng.random_range(1..300i64));
    let last_login = logins.map(|_| created + Duration::hours(rng.random_range(1..20_000)));
    let user_metadata = rng.random_bool(0.7).then(|| {
        let mut m = Map::new();
        m.insert("locale".into(), json!(pick(rng, LOCALES)));
        if rng.random_bool(0.3) {
            m.insert("newsletter".into(), json!(rng.random_bool(0.5)));
        }
        m
    });
    let app_metadata = rng.random_bool(0.5).then(|| {
        let mut m = Map::new();
        m.insert("plan".into(), json!(pick(rng, PLANS)));
        m
    });
    User {
        user_id: format!("email|{id}"),
        email_verified: Some(rng.random_bool(0.9)),
        username: None,
        phone_number: None,
        phone_verified: None,
        name: Some(format!("{first} {last}")),
        nickname: Some(local),
        given_name: rng.random_bool(0.5).then(|| first.to_owned()),
        family_name: rng.random_bool(0.5).then(|| last.to_owned()),
        picture: Some(format!(
            "https://s.gravatar.com/avatar/{index:032x}?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2F{}{}.png",
            &first[..1].to_lowercase(),
            &last[..1].to_lowercase()
        )),
        email: Some(email),
        blocked: None,
        app_metadata,
        user_metadata,
        identities: vec![Identity {
            connection: "email".to_owned(),
            user_id: id,
            provider: "email".to_owned(),
            is_social: false,
            profile_data: None,
        }],
        multifactor: None,
        multifactor_last_modified: None,
        last_ip: logins.map(|_| format!("10.{}.{}.{}", rng.random_range(0..255), rng.random_range(0..255), 7)),
        last_login,
        logins_count: logins,
        last_password_reset: None,
        created_at: created,
        updated_at: last_login.unwrap_or(created),
    }
}

fn argument(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn output(name: &str) -> anyhow::Result<std::io::BufWriter<std::fs::File>> {
    let path = argument(name).ok_or_else(|| anyhow::anyhow!("{name} FILE is required"))?;
    Ok(std::io::BufWriter::new(std::fs::File::create(path)?))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let users: u64 = argument("--users").map_or(100_000, |n| n.parse().expect("--users N"));
    let url = argument("--database-url").ok_or_else(|| anyhow::anyhow!("--database-url URL is required"))?;
    let (mut ids, mut emails) = (output("--ids")?, output("--emails")?);
    // The one coupling to the store's API besides opening it: a bulk import, all or nothing
    // per batch.
    let store = roster::store::open(&url).await?;
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(8);
    let mut batch = Vec::with_capacity(5_000);
    for index in 0..users {
        let user = generate(index, &mut rng);
        writeln!(ids, "{}", utf8_percent_encode(&user.user_id, COMPONENT))?;
        writeln!(emails, "{}", utf8_percent_encode(user.email.as_deref().unwrap_or_default(), COMPONENT))?;
        batch.push(NewUser::without_roles(user, None));
        if batch.len() == 5_000 || index + 1 == users {
            store.import_users(std::mem::take(&mut batch)).await.map_err(|e| anyhow::anyhow!("import: {e}"))?;
        }
    }
    ids.flush()?;
    emails.flush()?;
    store.close().await;
    println!("bench_data: {users} users in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
