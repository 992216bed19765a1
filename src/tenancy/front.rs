//! What stands in front of a hosted tenant's Management API, for tests of the apps that call it
//! (all set through the admin API, none on unless asked for):
//! - Auth0's rate limit: a token bucket per tenant, its state in `x-ratelimit-*` headers on
//!   every answer, Auth0's 429 when empty;
//! - a journal of the requests the tenant received (bodies with their secrets masked);
//! - faults on demand: the next N requests matching a method and path answer a given status,
//!   or are held for a while first.
//!
//! The search-index lag (new users found by `q` only after a while) lives with the searches
//! themselves (`App::search_lag`).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::time::{self, Timestamp};

/// Requests the journal keeps; the oldest go first.
pub const JOURNAL_CAPACITY: usize = 10_000;

/// Auth0's Management API rate limit: a bucket of `limit` requests, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub limit: u32,
    pub per_second: f64,
}

impl RateLimit {
    pub fn check(&self) -> Result<(), String> {
        if self.limit == 0 || !(self.per_second > 0.0 && self.per_second.is_finite()) {
            return Err("rate_limit needs a limit of at least 1 and a positive per_second".to_owned());
        }
        Ok(())
    }
}

/// What the rate limit says of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: u32,
    pub remaining: u32,
    /// When the bucket is full again, in Unix seconds.
    pub reset: i64,
    pub allowed: bool,
}

struct Bucket {
    rate: RateLimit,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn take(&mut self, now: Instant) -> Quota {
        let refilled = now.duration_since(self.at).as_secs_f64() * self.rate.per_second;
        self.tokens = (self.tokens + refilled).min(f64::from(self.rate.limit));
        self.at = now;
        let allowed = self.tokens >= 1.0;
        if allowed {
            self.tokens -= 1.0;
        }
        let until_full = (f64::from(self.rate.limit) - self.tokens) / self.rate.per_second;
        Quota {
            limit: self.rate.limit,
            remaining: self.tokens.floor() as u32,
            reset: time::now().timestamp() + until_full.ceil() as i64,
            allowed,
        }
    }
}

/// One request as the journal keeps it.
#[derive(Debug, Clone, Serialize)]
pub struct Journaled {
    pub time: Timestamp,
    pub method: String,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    pub status: u16,
    pub duration_ms: f64,
    /// The request body, its secrets masked; absent when there was none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

/// Which journaled requests a reader wants.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalFilter {
    pub method: Option<String>,
    /// A path, or a prefix ending in `*`.
    pub path: Option<String>,
    pub status: Option<u16>,
}

impl JournalFilter {
    fn keeps(&self, entry: &Journaled) -> bool {
        self.method.as_ref().is_none_or(|m| m.eq_ignore_ascii_case(&entry.method))
            && self.path.as_ref().is_none_or(|p| path_matches(p, &entry.path))
            && self.status.is_none_or(|s| s == entry.status)
    }
}

/// A fault to inject, as asked for.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Any method when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// A path (`/api/v2/users`), or a prefix ending in `*` (`/api/v2/users/*`).
    pub path: String,
    /// The status to answer; absent, the request is only held for `delay_ms` and then served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The body to answer with; Auth0's error body for `status` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    #[serde(default)]
    pub delay_ms: u64,
    /// How many matching requests it affects.
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

impl FaultSpec {
    pub fn check(&self) -> Result<(), String> {
        if !self.path.starts_with('/') {
            return Err("a fault's path starts with /".to_owned());
        }
        if self.status.is_some_and(|s| !(100..=599).contains(&s)) {
            return Err("a fault's status is an HTTP status, 100 to 599".to_owned());
        }
        if self.status.is_none() && self.delay_ms == 0 {
            return Err("a fault needs a status, a delay_ms, or both".to_owned());
        }
        if self.times == 0 {
            return Err("a fault's times is at least 1".to_owned());
        }
        if self.delay_ms > 600_000 {
            return Err("a fault's delay_ms is at most 600000".to_owned());
        }
        Ok(())
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_ref().is_none_or(|m| m.eq_ignore_ascii_case(method)) && path_matches(&self.path, path)
    }
}

/// A fault waiting, with how many more requests it affects.
#[derive(Debug, Clone, Serialize)]
pub struct Fault {
    pub id: String,
    #[serde(flatten)]
    pub spec: FaultSpec,
    pub remaining: u32,
}

/// What the front decides for one request.
#[derive(Debug, Clone)]
pub struct Injected {
    pub delay: Duration,
    /// Answer this instead of serving the request.
    pub answer: Option<(u16, Option<Value>)>,
}

fn path_matches(pattern: &str, path: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => path.starts_with(prefix),
        None => pattern == path,
    }
}

/// One tenant's front.
#[derive(Default)]
pub struct Front {
    bucket: Mutex<Option<Bucket>>,
    journal: Mutex<VecDeque<Journaled>>,
    faults: Mutex<Vec<Fault>>,
}

impl Front {
    pub fn set_rate_limit(&self, rate: Option<RateLimit>) {
        let mut bucket = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
        *bucket = rate.map(|rate| Bucket { rate, tokens: f64::from(rate.limit), at: Instant::now() });
    }

    /// Takes a request from the bucket, if there is a rate limit.
    pub fn take(&self) -> Option<Quota> {
        let mut bucket = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
        bucket.as_mut().map(|bucket| bucket.take(Instant::now()))
    }

    pub fn record(&self, entry: Journaled) {
        let mut journal = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        if journal.len() >= JOURNAL_CAPACITY {
            journal.pop_front();
        }
        journal.push_back(entry);
    }

    /// The journaled requests the filter keeps, oldest first.
    pub fn journal(&self, filter: &JournalFilter) -> Vec<Journaled> {
        let journal = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        journal.iter().filter(|entry| filter.keeps(entry)).cloned().collect()
    }

    pub fn clear_journal(&self) {
        self.journal.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    pub fn add_fault(&self, spec: FaultSpec) -> Fault {
        let fault = Fault { id: crate::domain::ids::prefixed("flt"), remaining: spec.times, spec };
        self.faults.lock().unwrap_or_else(|e| e.into_inner()).push(fault.clone());
        fault
    }

    pub fn faults(&self) -> Vec<Fault> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn clear_faults(&self) {
        self.faults.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The first fault waiting that matches, used once (gone when used up).
    pub fn inject(&self, method: &str, path: &str) -> Option<Injected> {
        let mut faults = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        let index = faults.iter().position(|fault| fault.spec.matches(method, path))?;
        let fault = &mut faults[index];
        fault.remaining -= 1;
        let injected = Injected {
            delay: Duration::from_millis(fault.spec.delay_ms),
            answer: fault.spec.status.map(|status| (status, fault.spec.body.clone())),
        };
        if fault.remaining == 0 {
            faults.remove(index);
        }
        Some(injected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_holds_its_limit_and_refills_at_its_rate() {
        let start = Instant::now();
        let mut bucket = Bucket { rate: RateLimit { limit: 3, per_second: 2.0 }, tokens: 3.0, at: start };
        let remaining: Vec<(bool, u32)> =
            (0..4).map(|_| bucket.take(start)).map(|q| (q.allowed, q.remaining)).collect();
        assert_eq!(remaining, [(true, 2), (true, 1), (true, 0), (false, 0)]);
        // Half a second later one request's worth is back.
        let later = bucket.take(start + Duration::from_millis(500));
        assert!(later.allowed);
        assert_eq!(later.remaining, 0);
        assert!(later.reset > time::now().timestamp(), "full again only after 1.5 s");
    }

    #[test]
    fn a_fault_answers_as_many_matching_requests_as_it_was_asked_to() {
        let front = Front::default();
        let spec = FaultSpec {
            method: Some("POST".into()),
            path: "/api/v2/users*".into(),
            status: Some(503),
            body: None,
            delay_ms: 0,
            times: 2,
        };
        front.add_fault(spec);
        assert!(front.inject("GET", "/api/v2/users").is_none(), "another method");
        assert!(front.inject("POST", "/api/v2/roles").is_none(), "another path");
        assert_eq!(front.inject("post", "/api/v2/users").unwrap().answer.unwrap().0, 503);
        assert!(front.inject("POST", "/api/v2/users/x").is_some());
        assert!(front.inject("POST", "/api/v2/users").is_none(), "used up");
        assert!(front.faults().is_empty());
    }

    #[test]
    fn the_journal_keeps_the_latest_requests_and_filters_them() {
        let front = Front::default();
        let entry = |method: &str, path: &str, status| Journaled {
            time: time::now(),
            method: method.into(),
            path: path.into(),
            query: None,
            status,
            duration_ms: 1.0,
            body: None,
        };
        for i in 0..JOURNAL_CAPACITY + 5 {
            front.record(entry("GET", &format!("/api/v2/users/{i}"), 200));
        }
        front.record(entry("POST", "/api/v2/users", 201));
        let all = front.journal(&JournalFilter::default());
        assert_eq!(all.len(), JOURNAL_CAPACITY);
        assert_eq!(all[0].path, "/api/v2/users/6");
        let posts = front.journal(&JournalFilter { method: Some("post".into()), ..Default::default() });
        assert_eq!(posts.len(), 1);
        let by_prefix =
            JournalFilter { path: Some("/api/v2/users/1*".into()), status: Some(200), ..Default::default() };
        assert!(front.journal(&by_prefix).iter().all(|e| e.path.starts_with("/api/v2/users/1")));
    }
}
