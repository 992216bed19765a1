//! Password strength as Auth0 checks it (its `password-sheriff` rules).
//!
//! Levels: none = 1+ chars; low = 6+; fair = 8+ with lower, upper and digit; good = 8+ with
//! three of lower/upper/digit/special; excellent = 10+, three of four, and no character
//! repeated more than twice in a row. `password_complexity_options.min_length` overrides the
//! level's length.

/// password-sheriff's `specialCharacters` set.
const SPECIAL: &str = " !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// bcrypt only reads 72 bytes; Auth0 caps passwords there too.
pub const MAX_PASSWORD_BYTES: usize = 72;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    None,
    Low,
    Fair,
    Good,
    Excellent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub level: Level,
    pub min_length: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordRejection {
    TooWeak,
    TooLong,
}

impl PasswordPolicy {
    pub fn from_level(level: &str, min_length: Option<usize>) -> Self {
        let level = match level {
            "none" => Level::None,
            "low" => Level::Low,
            "fair" => Level::Fair,
            "excellent" => Level::Excellent,
            _ => Level::Good,
        };
        let default_length = match level {
            Level::None => 1,
            Level::Low => 6,
            Level::Fair | Level::Good => 8,
            Level::Excellent => 10,
        };
        Self { level, min_length: min_length.unwrap_or(default_length).max(1) }
    }

    pub fn check(&self, password: &str) -> Result<(), PasswordRejection> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(PasswordRejection::TooLong);
        }
        if password.chars().count() < self.min_length {
            return Err(PasswordRejection::TooWeak);
        }
        let classes = [
            password.chars().any(|c| c.is_ascii_lowercase()),
            password.chars().any(|c| c.is_ascii_uppercase()),
            password.chars().any(|c| c.is_ascii_digit()),
            password.chars().any(|c| SPECIAL.contains(c)),
        ];
        let class_count = classes.iter().filter(|present| **present).count();
        let strong_enough = match self.level {
            Level::None | Level::Low => true,
            Level::Fair => classes[0] && classes[1] && classes[2],
            Level::Good => class_count >= 3,
            Level::Excellent => class_count >= 3 && !has_run_longer_than(password, 2),
        };
        if strong_enough { Ok(()) } else { Err(PasswordRejection::TooWeak) }
    }
}

fn has_run_longer_than(text: &str, max: usize) -> bool {
    let mut previous = None;
    let mut run = 0;
    for c in text.chars() {
        run = if Some(c) == previous { run + 1 } else { 1 };
        if run > max {
            return true;
        }
        previous = Some(c);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(level: &str) -> PasswordPolicy {
        PasswordPolicy::from_level(level, None)
    }

    #[test]
    fn levels() {
        assert!(policy("none").check("a").is_ok());
        assert!(policy("low").check("abcde").is_err());
        assert!(policy("low").check("abcdef").is_ok());
        assert!(policy("fair").check("abcdefg1").is_err());
        assert!(policy("fair").check("abcdefG1").is_ok());
        assert!(policy("good").check("abcdefgh").is_err());
        assert!(policy("good").check("abcdefG1").is_ok());
        assert!(policy("good").check("abcdef$1").is_ok());
        assert!(policy("excellent").check("abcdefG1!").is_err(), "too short");
        assert!(policy("excellent").check("aaabcdefG1!").is_err(), "three identical in a row");
        assert!(policy("excellent").check("aabcdefG1!x").is_ok());
    }

    #[test]
    fn recorded_passwords_pass_the_default_policy() {
        // Passwords accepted by real tenants in ../shared/spec/recordings.
        for password in ["I don't need one", "passpass$12$12", "Passwords hide their chuck", "MyPass123$"] {
            assert_eq!(policy("good").check(password), Ok(()), "{password}");
        }
    }

    #[test]
    fn min_length_overrides_level_and_72_bytes_is_the_cap() {
        let strict = PasswordPolicy::from_level("none", Some(12));
        assert!(strict.check("short").is_err());
        assert!(strict.check("long enough!").is_ok());
        assert_eq!(policy("none").check(&"a".repeat(73)), Err(PasswordRejection::TooLong));
    }
}
