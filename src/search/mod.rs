//! User search: Auth0's query string syntax → a typed query (`query`) → parameterised SQL for
//! each store's dialect. User input only ever reaches SQL as bound parameters.

pub mod listing;
pub mod postgres;
pub mod query;
pub mod sql;
pub mod sqlite;
pub mod syntax;

#[cfg(test)]
pub(crate) mod property_tests;
#[cfg(test)]
mod reference;

pub use listing::{SearchPage, Sort, SortField, UserSearch, Window};
pub use query::{Query, QueryError, parse};
