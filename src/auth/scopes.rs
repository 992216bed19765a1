//! Which scopes allow which operation, from Auth0's OpenAPI spec (see `scope_table`).

use std::collections::HashMap;
use std::sync::OnceLock;

pub use super::scope_table::ALL_SCOPES;
use super::scope_table::OPERATIONS;

/// Routes name the parameter after a resource `{id}` wherever Auth0's spec uses another name
/// there (`/users/{user_id}/sessions`, `/clients/{client_id}/credentials`,
/// `/organizations/{organization_id}/groups`): the router needs one name per position. Lookups
/// go through this form.
pub fn canonical(path: &str) -> String {
    let mut segments: Vec<&str> = path.split('/').collect();
    if let Some(second) = segments.get_mut(2)
        && second.starts_with('{')
    {
        *second = "{id}";
    }
    segments.join("/")
}

fn table() -> &'static HashMap<(String, String), &'static [&'static str]> {
    static TABLE: OnceLock<HashMap<(String, String), &'static [&'static str]>> = OnceLock::new();
    TABLE.get_or_init(|| {
        OPERATIONS.iter().map(|(method, path, _, scopes)| (((*method).to_owned(), canonical(path)), *scopes)).collect()
    })
}

/// The scopes, any one of which allows `method` on `path` (a route pattern relative to
/// `/api/v2`, such as `/users/{id}`). `None` for an operation outside the table.
pub fn required(method: &str, path: &str) -> Option<&'static [&'static str]> {
    table().get(&(method.to_owned(), canonical(path))).copied()
}

/// Scopes that only let a user act on their own account.
pub fn is_current_user_scope(scope: &str) -> bool {
    scope.contains(":current_user")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_up_operations_from_the_spec() {
        assert_eq!(required("POST", "/users"), Some(&["create:users"][..]));
        assert_eq!(required("GET", "/users"), Some(&["read:users", "read:user_idp_tokens"][..]));
        assert_eq!(required("GET", "/users/{id}/sessions"), Some(&["read:sessions"][..]));
        assert_eq!(required("GET", "/nope"), None);
        assert_eq!(required("GET", "/clients/{id}/credentials"), Some(&["read:client_credentials"][..]));
        assert_eq!(
            canonical("/organizations/{organization_id}/groups/{group_id}/roles"),
            "/organizations/{id}/groups/{group_id}/roles"
        );
        assert!(ALL_SCOPES.contains(&"create:users") && ALL_SCOPES.len() > 200);
    }
}
