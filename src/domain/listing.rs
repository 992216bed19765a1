//! Listings: the shapes of a page (offset or checkpoint style) the store answers, and, for tenant
//! objects listed in memory (connections, clients, grants), choosing fields and taking a window.

use serde_json::{Map, Value};

/// One page of a listing, and how many there are in all.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed<T> {
    pub items: Vec<T>,
    pub total: u64,
}

/// An offset window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub offset: u64,
    pub limit: u64,
}

impl Window {
    pub fn range(self) -> (u64, u64) {
        (self.offset, self.limit)
    }
}

/// A slice of a listing: an offset page, or the items after a cursor (checkpoint pagination).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slice<C> {
    Page { offset: u64, limit: u64 },
    After { after: Option<C>, limit: u64 },
}

/// A page of a listing. `total` counts every item (offset pages); `more` says whether items
/// follow the last one (checkpoint pages).
#[derive(Debug, Clone, PartialEq)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub more: bool,
}

/// An offset page: none follow it in checkpoint terms.
impl<T> From<Listed<T>> for Listing<T> {
    fn from(Listed { items, total }: Listed<T>) -> Self {
        Listing { items, total, more: false }
    }
}

/// Keeps (`include`) or drops the comma-separated `fields` of `json`; no `fields`, everything.
pub fn project(json: Map<String, Value>, fields: Option<&str>, include: bool) -> Map<String, Value> {
    let Some(fields) = fields else { return json };
    let named: Vec<&str> = fields.split(',').map(str::trim).filter(|f| !f.is_empty()).collect();
    json.into_iter().filter(|(key, _)| named.contains(&key.as_str()) == include).collect()
}

/// `limit` items from `offset`.
pub fn page<T>(items: Vec<T>, offset: u64, limit: u64) -> Vec<T> {
    let offset = usize::try_from(offset).unwrap_or(usize::MAX);
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    items.into_iter().skip(offset).take(limit).collect()
}

/// Checkpoint paging over `items` sorted by `key` (byte order): at most `take` items after
/// the one whose key is `after`, and the key to continue from when more follow.
pub fn after<T>(items: Vec<T>, key: impl Fn(&T) -> &str, after: Option<&str>, take: u64) -> (Vec<T>, Option<String>) {
    let take = usize::try_from(take).unwrap_or(usize::MAX);
    let mut rest: Vec<T> =
        items.into_iter().filter(|item| after.is_none_or(|after| key(item).as_bytes() > after.as_bytes())).collect();
    let more = rest.len() > take;
    rest.truncate(take);
    let next = if more { rest.last().map(|last| key(last).to_owned()) } else { None };
    (rest, next)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn projects_fields() {
        let Value::Object(json) = json!({"id": 1, "name": "a", "strategy": "auth0"}) else { unreachable!() };
        assert_eq!(Value::Object(project(json.clone(), Some("id, name"), true)), json!({"id": 1, "name": "a"}));
        assert_eq!(Value::Object(project(json.clone(), Some("id"), false)), json!({"name": "a", "strategy": "auth0"}));
        assert_eq!(project(json.clone(), None, true), json);
    }

    #[test]
    fn windows() {
        let items = vec!["a", "b", "c", "d", "e"];
        assert_eq!(page(items.clone(), 2, 2), ["c", "d"]);
        assert!(page(items.clone(), 9, 2).is_empty());
        assert_eq!(after(items.clone(), |s| s, None, 2), (vec!["a", "b"], Some("b".to_owned())));
        assert_eq!(after(items.clone(), |s| s, Some("b"), 2), (vec!["c", "d"], Some("d".to_owned())));
        assert_eq!(after(items.clone(), |s| s, Some("c"), 2), (vec!["d", "e"], None));
        assert_eq!(after(items, |s| s, Some("e"), 2), (vec![], None));
    }
}
