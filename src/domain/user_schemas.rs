//! The payloads of `POST /users` and `PATCH /users/{id}`, as Auth0's OpenAPI spec declares
//! them (names, types, lengths, formats and descriptions are copied from it).

use super::schema::{Format, ObjectSchema, Property, Type, has_no_whitespace, is_e164};

const E164: Format = Format::Pattern(r"^\+[0-9]{1,15}$", is_e164);
const NO_WHITESPACE: Format = Format::Pattern(r"^\S*$", has_no_whitespace);

/// `CreateUserRequestContent`.
pub const CREATE_USER: ObjectSchema = ObjectSchema {
    properties: &[
        Property::new("email", Type::String, "The user's email.").format(Format::EMAIL),
        Property::new("phone_number", Type::String, "The user's phone number (following the E.164 recommendation).")
            .format(E164),
        Property::new(
            "user_metadata",
            Type::Object,
            "Data related to the user that does not affect the application's core functionality.",
        ),
        Property::new(
            "blocked",
            Type::Boolean,
            "Whether this user was blocked by an administrator (true) or not (false).",
        ),
        Property::new(
            "email_verified",
            Type::Boolean,
            "Whether this email address is verified (true) or unverified (false). User will receive a verification email after creation if `email_verified` is false or not specified",
        ),
        Property::new(
            "phone_verified",
            Type::Boolean,
            "Whether this phone number has been verified (true) or not (false).",
        ),
        Property::new(
            "app_metadata",
            Type::Object,
            "Data related to the user that does affect the application's core functionality.",
        ),
        Property::new("given_name", Type::String, "The user's given name(s).").length(1, Some(150)),
        Property::new("family_name", Type::String, "The user's family name(s).").length(1, Some(150)),
        Property::new("name", Type::String, "The user's full name.").length(1, Some(300)),
        Property::new("nickname", Type::String, "The user's nickname.").length(1, Some(300)),
        Property::new("picture", Type::String, "A URI pointing to the user's picture.").format(Format::STRICT_URI),
        Property::new("user_id", Type::String, "The external user's id provided by the identity provider.")
            .length(0, Some(255))
            .format(NO_WHITESPACE),
        Property::new("connection", Type::String, "Name of the connection this user should be created in.")
            .length(1, None),
        Property::new(
            "password",
            Type::String,
            "Initial password for this user. Only valid for auth0 connection strategy.",
        )
        .length(1, None),
        Property::new(
            "verify_email",
            Type::Boolean,
            "Whether the user will receive a verification email after creation (true) or no email (false). Overrides behavior of `email_verified` parameter.",
        ),
        Property::new(
            "username",
            Type::String,
            "The user's username. Only valid if the connection requires a username.",
        )
        .length(1, Some(128)),
    ],
    required: &["connection"],
    additional_hint: "",
};

/// `UpdateUserRequestContent`. The spec says additional properties are allowed, but the
/// real API rejects them with this hint (quoted in public client tests).
pub const UPDATE_USER: ObjectSchema = ObjectSchema {
    properties: &[
        Property::new(
            "blocked",
            Type::Boolean,
            "Whether this user was blocked by an administrator (true) or not (false).",
        ),
        Property::new(
            "email_verified",
            Type::Boolean,
            "Whether this email address is verified (true) or unverified (false). If set to false the user will not receive a verification email unless `verify_email` is set to true.",
        ),
        // The live API describes PATCH's email as "The new email" (seen in real error messages).
        Property::new("email", Type::String, "The new email").nullable().format(Format::EMAIL),
        Property::new("phone_number", Type::String, "The user's phone number (following the E.164 recommendation).")
            .nullable()
            .format(E164),
        Property::new(
            "phone_verified",
            Type::Boolean,
            "Whether this phone number has been verified (true) or not (false).",
        ),
        Property::new("user_metadata", Type::Object, "User metadata to which this user has read/write access."),
        Property::new("app_metadata", Type::Object, "User metadata to which this user has read-only access."),
        Property::new("given_name", Type::String, "Given name/first name/forename of this user.")
            .nullable()
            .length(1, Some(150)),
        Property::new("family_name", Type::String, "Family name/last name/surname of this user.")
            .nullable()
            .length(1, Some(150)),
        Property::new("name", Type::String, "Name of this user.").nullable().length(1, Some(300)),
        Property::new("nickname", Type::String, "Preferred nickname or alias of this user.")
            .nullable()
            .length(1, Some(300)),
        Property::new("picture", Type::String, "URL to picture, photo, or avatar of this user.")
            .nullable()
            .format(Format::STRICT_URI),
        Property::new(
            "verify_email",
            Type::Boolean,
            "Whether this user will receive a verification email after creation (true) or no email (false). Overrides behavior of `email_verified` parameter.",
        ),
        Property::new(
            "verify_phone_number",
            Type::Boolean,
            "Whether this user will receive a text after changing the phone number (true) or no text (false). Only valid when changing phone number for SMS connections.",
        ),
        Property::new("password", Type::String, "New password for this user. Only valid for database connections.")
            .nullable()
            .length(1, None),
        Property::new("connection", Type::String, "Name of the connection to target for this user update.")
            .length(1, None),
        Property::new("client_id", Type::String, "Auth0 client ID. Only valid when updating email address.")
            .length(1, None),
        Property::new(
            "username",
            Type::String,
            "The user's username. Only valid if the connection requires a username.",
        )
        .nullable()
        .length(1, Some(128)),
    ],
    required: &[],
    additional_hint: " (consider storing them in app_metadata or user_metadata. See \"Users Metadata\" in https://auth0.com/docs/api/v2/changes for more details)",
};
