//! Auth0's two pagination styles for lists other than user search.
//!
//! Offset: `page` (from 0), `per_page` (default 50, at most 100) and `include_totals`; the
//! answer is a bare array, or `{"<items>":[…],"start":…,"limit":…,"total":…}` with totals (no
//! `length`, unlike `GET /users`).
//! Checkpoint: `from` (an opaque cursor from the previous answer) and `take` (default 50, at
//! most 100); the answer is `{"<items>":[…],"next":"<cursor>"}`, without `next` on the last page.

use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::query::{Param, QueryString};
use super::response;
use crate::domain::schema::Type;
use crate::error::ApiError;

pub const DEFAULT_PER_PAGE: u64 = 50;

pub const PAGE: Param =
    Param::new("page", Type::Integer, "Page index of the results to return. First page is 0.").range(Some(0), None);
pub const PER_PAGE: Param =
    Param::new("per_page", Type::Integer, "Number of results per page. Defaults to 50.").range(Some(1), Some(100));
pub const INCLUDE_TOTALS: Param = Param::new(
    "include_totals",
    Type::Boolean,
    "Return results inside an object that contains the total result count (true) or as a direct array of results (false, default).",
);
pub const FROM: Param = Param::new("from", Type::String, "Optional Id from which to start selection.");
pub const TAKE: Param =
    Param::new("take", Type::Integer, "Number of results per page. Defaults to 50.").range(Some(1), Some(100));

/// An offset page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub offset: u64,
    pub limit: u64,
    pub include_totals: bool,
}

impl Page {
    /// Reads `page`, `per_page` and `include_totals` (declare them with `PAGE`, `PER_PAGE` and
    /// `INCLUDE_TOTALS`).
    pub fn from_query(query: &QueryString) -> Self {
        let limit = query.integer("per_page").map_or(DEFAULT_PER_PAGE, |n| n as u64);
        let page = query.integer("page").unwrap_or(0) as u64;
        Self {
            offset: page.saturating_mul(limit),
            limit,
            include_totals: query.boolean("include_totals").unwrap_or(false),
        }
    }

    /// The answer: the items alone, or wrapped under `key` with `start`, `limit` and `total`.
    pub fn respond(&self, key: &str, items: Vec<Value>, total: u64) -> Response {
        if !self.include_totals {
            return response::json(StatusCode::OK, &items);
        }
        let mut body = Map::new();
        body.insert(key.to_owned(), Value::Array(items));
        body.insert("start".to_owned(), Value::from(self.offset));
        body.insert("limit".to_owned(), Value::from(self.limit));
        body.insert("total".to_owned(), Value::from(total));
        response::json(StatusCode::OK, &body)
    }
}

/// A checkpoint page request: after the item with `after` (decoded from `from`), `take` items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub after: Option<String>,
    pub take: u64,
}

impl Checkpoint {
    /// `Some` when the request uses checkpoint pagination (`from` or `take` given; declare them
    /// with `FROM` and `TAKE`).
    pub fn from_query(query: &QueryString) -> Result<Option<Self>, ApiError> {
        if query.text("from").is_none() && query.integer("take").is_none() {
            return Ok(None);
        }
        let after = query.text("from").map(decode_cursor).transpose()?;
        Ok(Some(Self { after, take: query.integer("take").map_or(DEFAULT_PER_PAGE, |n| n as u64) }))
    }

    /// `{"<key>":[…],"next":…}`; `last_key` is the cursor key of the last item when more follow.
    pub fn respond(key: &str, items: Vec<Value>, last_key: Option<&str>) -> Response {
        let mut body = Map::new();
        body.insert(key.to_owned(), Value::Array(items));
        if let Some(last) = last_key {
            body.insert("next".to_owned(), Value::from(encode_cursor(last)));
        }
        response::json(StatusCode::OK, &body)
    }
}

pub fn encode_cursor(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key)
}

pub fn decode_cursor(cursor: &str) -> Result<String, ApiError> {
    URL_SAFE_NO_PAD.decode(cursor).ok().and_then(|bytes| String::from_utf8(bytes).ok()).ok_or_else(|| {
        ApiError::invalid_query(format!(
            "Query validation error: 'Invalid cursor: {cursor}' on property from (Optional Id from which to start selection)."
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        assert_eq!(decode_cursor(&encode_cursor("auth0|abc")).unwrap(), "auth0|abc");
        assert!(decode_cursor("%%%").is_err());
    }
}
