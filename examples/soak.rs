//! Soak: mixed Management API traffic against a running roster, first as fast as it goes (the
//! peak), then at a fixed share of that peak for minutes, reporting each minute's requests,
//! errors, p50/p99 latency and the server's resident memory (its own, and mapped files'). Run by `bench/soak.sh`.
//!
//! The mix, per 100 requests: 45 GET /users/{id} (a random user of the data set), 10
//! users-by-email, 15 searches (`q=email:"…"`, random user), 10 creates (passwordless), 10
//! PATCHes and 5 DELETEs of users this run created, 5 client-credentials token requests.
//!
//! The soak is open-loop: requests start on a fixed schedule whether or not earlier ones have
//! answered, and each latency counts from when its request was due, so a stall shows as
//! latency instead of as fewer requests (at most `--in-flight` are sent at once; the others
//! wait, their wait counted). An error is any answer but the one the operation promises (200,
//! 201, 204), or none within 30 s. Requests are counted in the minute they answer.
//!
//! usage: soak --url URL --client-id ID --client-secret SECRET --ids FILE --emails FILE
//!             [--pid PID] [--minutes 10] [--share 0.8] [--peak-seconds 20] [--concurrency 32]
//!             [--in-flight 512]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use rand::RngExt;
use rand::seq::IndexedRandom;
use serde_json::{Value, json};

fn argument(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn required(name: &str) -> anyhow::Result<String> {
    argument(name).ok_or_else(|| anyhow::anyhow!("{name} is required"))
}

fn number<T: std::str::FromStr>(name: &str, default: T) -> T {
    argument(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn lines(path: &str) -> anyhow::Result<Vec<String>> {
    Ok(std::fs::read_to_string(path)?.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect())
}

/// What the traffic needs: the client, the data set's users, and the users this run created
/// (PATCH and DELETE act on those only, so that the data set's reads keep finding theirs).
struct Traffic {
    client: reqwest::Client,
    base: String,
    token: String,
    client_id: String,
    client_secret: String,
    ids: Vec<String>,
    emails: Vec<String>,
    /// Users this run created, half for PATCHes and half for DELETEs (so that no PATCH races a
    /// DELETE of its user into a 404).
    patchable: Mutex<Vec<String>>,
    deletable: Mutex<Vec<String>>,
    /// Creates sent, which name their emails, and creates answered, which pick their pool.
    made: AtomicU64,
    serial: AtomicU64,
}

#[derive(Clone, Copy, Debug)]
enum Operation {
    Read,
    ByEmail,
    Search,
    Create,
    Update,
    Delete,
    Token,
}

impl Operation {
    fn pick(rng: &mut impl RngExt) -> Self {
        match rng.random_range(0..100) {
            0..45 => Operation::Read,
            45..55 => Operation::ByEmail,
            55..70 => Operation::Search,
            70..80 => Operation::Create,
            80..90 => Operation::Update,
            90..95 => Operation::Delete,
            _ => Operation::Token,
        }
    }
}

fn encode(text: &str) -> String {
    utf8_percent_encode(text, NON_ALPHANUMERIC).to_string()
}

impl Traffic {
    /// Sends one request of `operation`; whether it got the answer the operation promises.
    async fn send(&self, operation: Operation) -> bool {
        let (users, auth) = (format!("{}/api/v2/users", self.base), format!("Bearer {}", self.token));
        let random_id = || self.ids.choose(&mut rand::rng()).cloned().unwrap_or_default();
        let random_email = || self.emails.choose(&mut rand::rng()).cloned().unwrap_or_default();
        let patchable = || self.patchable.lock().unwrap().choose(&mut rand::rng()).cloned();
        let request = match operation {
            Operation::Read => self.client.get(format!("{users}/{}", random_id())),
            Operation::ByEmail => {
                self.client.get(format!("{}/api/v2/users-by-email?email={}", self.base, random_email()))
            }
            Operation::Search => {
                // The emails file holds them percent-encoded already.
                let email = percent_decode_str(&random_email()).decode_utf8_lossy().into_owned();
                let q = encode(&format!("email:\"{email}\""));
                self.client.get(format!("{users}?q={q}&search_engine=v3"))
            }
            Operation::Create => {
                let n = self.made.fetch_add(1, Ordering::Relaxed);
                let email = format!("soak{}-{n}@example.com", std::process::id());
                self.client.post(&users).json(&json!({"connection": "email", "email": email}))
            }
            Operation::Update => match patchable() {
                Some(id) => self
                    .client
                    .patch(format!("{users}/{}", encode(&id)))
                    .json(&json!({"user_metadata": {"soak": rand::rng().random_range(0..1000)}})),
                None => self.client.get(format!("{users}/{}", random_id())),
            },
            Operation::Delete => {
                let victim = self.deletable.lock().unwrap().pop();
                match victim {
                    Some(id) => self.client.delete(format!("{users}/{}", encode(&id))),
                    None => self.client.get(format!("{users}/{}", random_id())),
                }
            }
            Operation::Token => {
                let body = json!({"grant_type": "client_credentials", "client_id": self.client_id,
                    "client_secret": self.client_secret, "audience": format!("{}/api/v2/", self.base)});
                return match self.client.post(format!("{}/oauth/token", self.base)).json(&body).send().await {
                    Ok(reply) => reply.status().is_success(),
                    Err(_) => false,
                };
            }
        };
        let Ok(reply) = request.header("authorization", auth).send().await else { return false };
        let ok = reply.status().is_success();
        if ok && matches!(operation, Operation::Create) {
            if let Ok(user) = reply.json::<Value>().await
                && let Some(id) = user["user_id"].as_str()
            {
                let pool = if self.serial.fetch_add(1, Ordering::Relaxed).is_multiple_of(2) {
                    &self.patchable
                } else {
                    &self.deletable
                };
                pool.lock().unwrap().push(id.to_owned());
            }
        } else {
            let _ = reply.bytes().await;
        }
        ok
    }
}

/// The resident memory of process `pid`, in MiB: its own (anonymous) and the mapped pages of
/// files (the database, which grows with the writes; the kernel may drop them).
fn rss_mib(pid: Option<u32>) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        Some(line.split_whitespace().nth(1)?.parse::<f64>().ok()? / 1024.0)
    };
    Some((field("RssAnon:")?, field("RssFile:")?))
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    f64::from(sorted[index]) / 1000.0
}

/// One minute's results: latencies in microseconds, and errors.
#[derive(Default)]
struct Minute {
    latencies: Vec<u32>,
    errors: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let base = required("--url")?.trim_end_matches('/').to_owned();
    let (client_id, client_secret) = (required("--client-id")?, required("--client-secret")?);
    let pid: Option<u32> = argument("--pid").and_then(|p| p.parse().ok());
    let minutes: u64 = number("--minutes", 10);
    let share: f64 = number("--share", 0.8);
    let peak_seconds: u64 = number("--peak-seconds", 20);
    let concurrency: usize = number("--concurrency", 32);
    let in_flight: usize = number("--in-flight", 512);
    let client =
        reqwest::Client::builder().pool_max_idle_per_host(in_flight).timeout(Duration::from_secs(30)).build()?;
    let body = json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret,
        "audience": format!("{base}/api/v2/")});
    let token: Value = client.post(format!("{base}/oauth/token")).json(&body).send().await?.json().await?;
    let token = token["access_token"].as_str().ok_or_else(|| anyhow::anyhow!("no token: {token}"))?.to_owned();
    let traffic = Arc::new(Traffic {
        client,
        base,
        token,
        client_id,
        client_secret,
        ids: lines(&required("--ids")?)?,
        emails: lines(&required("--emails")?)?,
        patchable: Mutex::new(Vec::new()),
        deletable: Mutex::new(Vec::new()),
        made: AtomicU64::new(0),
        serial: AtomicU64::new(0),
    });

    // The peak: `concurrency` callers, each sending its next request when the last answers.
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(peak_seconds);
    let callers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (traffic, done, failed) = (traffic.clone(), done.clone(), failed.clone());
            tokio::spawn(async move {
                while Instant::now() < until {
                    let operation = Operation::pick(&mut rand::rng());
                    if !traffic.send(operation).await {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for caller in callers {
        caller.await?;
    }
    let peak = done.load(Ordering::Relaxed) as f64 / peak_seconds as f64;
    let rate = peak * share;
    println!(
        "peak: {peak:.0} req/s with {concurrency} connections ({} errors); soak at {rate:.0} req/s ({:.0}%) for {minutes} min",
        failed.load(Ordering::Relaxed),
        share * 100.0
    );
    println!("| minute | requests | errors | p50 ms | p99 ms | server RSS MiB: own | files |");
    println!("|---|---|---|---|---|---|---|");

    // The soak: one request due every 1/rate seconds, each on a task of its own.
    let slots = Arc::new(tokio::sync::Semaphore::new(in_flight));
    let current = Arc::new(Mutex::new(Minute::default()));
    let interval = Duration::from_secs_f64(1.0 / rate);
    let started = Instant::now();
    let mut total_errors = 0;
    let mut due = started;
    for minute in 1..=minutes {
        let end = started + Duration::from_secs(60 * minute);
        while due < end {
            tokio::time::sleep_until(due.into()).await;
            let (traffic, slots, current) = (traffic.clone(), slots.clone(), current.clone());
            let scheduled = due;
            tokio::spawn(async move {
                let Ok(_slot) = slots.acquire().await else { return };
                let operation = Operation::pick(&mut rand::rng());
                let ok = traffic.send(operation).await;
                let micros = scheduled.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                let mut current = current.lock().unwrap();
                current.latencies.push(micros);
                if !ok {
                    current.errors += 1;
                }
            });
            due += interval;
        }
        let mut finished = std::mem::take(&mut *current.lock().unwrap());
        finished.latencies.sort_unstable();
        total_errors += finished.errors;
        println!(
            "| {minute} | {} | {} | {:.2} | {:.2} | {} |",
            finished.latencies.len(),
            finished.errors,
            percentile(&finished.latencies, 0.5),
            percentile(&finished.latencies, 0.99),
            rss_mib(pid).map_or("- | -".to_owned(), |(own, files)| format!("{own:.0} | {files:.0}")),
        );
    }
    // Let the last requests answer.
    let _ = slots.acquire_many(in_flight as u32).await;
    println!("soak: {total_errors} errors in {minutes} min at {rate:.0} req/s");
    if total_errors > 0 {
        std::process::exit(1);
    }
    Ok(())
}
