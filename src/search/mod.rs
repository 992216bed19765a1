//! User and log search: Auth0's query string syntax → a typed query (`query`, over users' or
//! log events' fields) → parameterised SQL for each store's dialect. User input only ever
//! reaches SQL as bound parameters.

pub mod lag;
pub mod listing;
pub mod postgres;
pub mod query;
pub mod sql;
pub mod sqlite;
pub mod syntax;

#[cfg(test)]
pub(crate) mod property_tests;
pub mod reference;

pub use listing::{LogSort, LogWindow, SearchPage, Sort, SortField, UserSearch, Window};
pub use query::{Fields, Query, QueryError, parse, parse_in};
