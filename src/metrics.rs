//! What `GET /metrics` shows, in Prometheus' text format (OpenMetrics 1.0 text, which Prometheus
//! scrapes natively): requests by route and status, database connections, the SQLite writer's
//! group-commit batches, jobs, tenants.
//!
//! One registry for the process (the SQLite writer thread and the HTTP layers record into it
//! without a handle passed down to them). On the request path a series is found by its labels
//! without building strings: the method is a `&'static str`, the route axum's `MatchedPath`
//! (a shared `Arc<str>`, cloned by a reference count), the status a number. What is counted
//! elsewhere (connections, jobs) is read when a scrape asks.

use std::hash::{Hash, Hasher};
use std::sync::LazyLock;
use std::time::Duration;

use axum::extract::MatchedPath;
use axum::http::Method;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The content type of what `render` returns.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upper bounds (seconds) of the latency buckets: a key lookup takes ~100 µs, a bcrypt check
/// ~50 ms, an export minutes.
const LATENCY_BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Upper bounds of the group-commit batch sizes (the writer takes at most 256 jobs a batch).
const BATCH_BUCKETS: [f64; 9] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

const JOB_KINDS: [&str; 2] = ["users_import", "users_export"];
const JOB_STATUSES: [&str; 5] = ["uploading", "pending", "processing", "completed", "failed"];

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RequestLabels, Histogram, fn() -> Histogram>,
    batch_size: Histogram,
    connections: Family<ConnectionLabels, Gauge>,
    connections_max: Gauge,
    jobs: Family<JobLabels, Gauge>,
    tenants: Gauge,
    /// One scrape at a time: the gauges read at a scrape are cleared and set again.
    scraping: tokio::sync::Mutex<()>,
}

/// A route template as axum matched it (`/api/v2/users/{id}`), or none (an unknown path, which
/// is never shown: it may hold ids).
#[derive(Clone, Debug)]
struct Route(Option<MatchedPath>);

impl Route {
    fn as_str(&self) -> &str {
        self.0.as_ref().map_or("unmatched", MatchedPath::as_str)
    }
}

impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Route {}

impl Hash for Route {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: Route,
    status: u16,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ConnectionLabels {
    state: &'static str,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct JobLabels {
    kind: String,
    status: String,
}

/// Connections of the store's pool (SQLite: the read connections; the writer is its own).
#[derive(Debug, Clone, Copy)]
pub struct PoolUse {
    pub in_use: u64,
    pub idle: u64,
    pub max: u64,
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("roster");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let latency = Family::<RequestLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's arrival to its response's head, by method, route template and status",
            latency.clone(),
        );
        let batch_size = Histogram::new(BATCH_BUCKETS);
        registry.register(
            "sqlite_commit_batch_size",
            "Writes committed together by one fsync of the SQLite group-commit writer",
            batch_size.clone(),
        );
        let connections = Family::<ConnectionLabels, Gauge>::default();
        registry.register(
            "db_connections",
            "Database connections of this process's pool, by state",
            connections.clone(),
        );
        let connections_max = Gauge::default();
        registry.register("db_connections_max", "The most connections the pool opens", connections_max.clone());
        let jobs = Family::<JobLabels, Gauge>::default();
        registry.register("jobs", "Import and export jobs in the database, by kind and status", jobs.clone());
        let tenants = Gauge::default();
        registry.register("tenants", "Tenants this process serves", tenants.clone());
        Self {
            registry,
            requests,
            latency,
            batch_size,
            connections,
            connections_max,
            jobs,
            tenants,
            scraping: Default::default(),
        }
    }

    /// One answered request. `route` is what axum matched; none for a path it did not.
    pub fn request(&self, method: &Method, route: Option<&MatchedPath>, status: u16, elapsed: Duration) {
        let labels = RequestLabels { method: method_label(method), route: Route(route.cloned()), status };
        self.requests.get_or_create(&labels).inc();
        self.latency.get_or_create(&labels).observe(elapsed.as_secs_f64());
    }

    /// One commit of the SQLite writer, of `jobs` writes.
    pub fn batch_committed(&self, jobs: usize) {
        self.batch_size.observe(jobs as f64);
    }

    pub fn set_tenants(&self, tenants: i64) {
        self.tenants.set(tenants);
    }

    /// The text of a scrape, after setting what is read at a scrape: the pool's use (`None`
    /// before the store is open) and the jobs, `(kind, status, count)`.
    pub async fn render(&self, pool: Option<PoolUse>, jobs: Vec<(String, String, i64)>) -> String {
        let _one_at_a_time = self.scraping.lock().await;
        self.connections.clear();
        if let Some(pool) = pool {
            self.connections.get_or_create(&ConnectionLabels { state: "in_use" }).set(pool.in_use as i64);
            self.connections.get_or_create(&ConnectionLabels { state: "idle" }).set(pool.idle as i64);
            self.connections_max.set(pool.max as i64);
        }
        self.jobs.clear();
        // Every kind in every status, so that a count that falls to nothing shows as 0.
        for kind in JOB_KINDS {
            for status in JOB_STATUSES {
                self.jobs.get_or_create(&JobLabels { kind: kind.to_owned(), status: status.to_owned() }).set(0);
            }
        }
        for (kind, status, count) in jobs {
            self.jobs.get_or_create(&JobLabels { kind, status }).set(count);
        }
        let mut text = String::with_capacity(16 * 1024);
        prometheus_client::encoding::text::encode(&mut text, &self.registry).expect("writing to a String");
        text
    }
}

/// Methods by a static name; any other (there are none among Roster's routes) as "other".
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
