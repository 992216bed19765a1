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

/// Operations that need several scopes at once: Auth0's 403 for them says "expected all of",
/// and its docs ("View user roles", "View role users") name `read:users` and `read:roles`
/// (the spec's list for the first adds `read:role_members`, which the docs do not ask for).
const ALL_OF: &[(&str, &str, &[&str])] = &[
    ("GET", "/users/{id}/roles", &["read:users", "read:roles"]),
    ("GET", "/roles/{id}/users", &["read:users", "read:roles"]),
];

/// The scopes `method` on `path` needs together, beside one of `required`'s.
pub fn required_together(method: &str, path: &str) -> Option<&'static [&'static str]> {
    let path = canonical(path);
    ALL_OF.iter().find(|(m, p, _)| *m == method && *p == path).map(|(_, _, scopes)| *scopes)
}

/// Whether scopes held (as `has` answers) allow `method` on `path`.
pub fn allows(method: &str, path: &str, has: impl Fn(&str) -> bool) -> bool {
    let any = required(method, path).is_some_and(|any| any.iter().any(|s| has(s)));
    any && required_together(method, path).is_none_or(|all| all.iter().all(|s| has(s)))
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
        assert_eq!(required_together("GET", "/users/{user_id}/roles"), Some(&["read:users", "read:roles"][..]));
        assert_eq!(required_together("POST", "/users/{id}/roles"), None);
        let holding = |held: &'static [&'static str]| move |scope: &str| held.contains(&scope);
        assert!(!allows("GET", "/users/{id}/roles", holding(&["read:users"])));
        assert!(allows("GET", "/users/{id}/roles", holding(&["read:users", "read:roles"])));
        assert!(allows("GET", "/users/{id}", holding(&["read:users"])));
    }
}
