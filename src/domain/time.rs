//! Timestamps as Auth0 writes them: UTC, millisecond precision, `Z` suffix.

use chrono::{DateTime, SubsecRound, Utc};

pub type Timestamp = DateTime<Utc>;

/// Now, truncated to milliseconds so a value survives a round trip through the store unchanged.
pub fn now() -> Timestamp {
    Utc::now().trunc_subsecs(3)
}

/// `2023-01-25T19:00:26.187Z`
pub fn format(ts: &Timestamp) -> String {
    ts.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

pub fn parse(text: &str) -> Option<Timestamp> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_milliseconds_and_z() {
        let ts = parse("2023-01-25T19:00:26.187Z").unwrap();
        assert_eq!(format(&ts), "2023-01-25T19:00:26.187Z");
        let whole = parse("2023-01-25T19:00:26Z").unwrap();
        assert_eq!(format(&whole), "2023-01-25T19:00:26.000Z");
    }
}
