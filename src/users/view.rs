//! Users and keys as the API and the CLI show them.

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{Scope, Scopes};
use crate::links::view::rfc3339;
use crate::store::{KeyRecord, UserRecord};

/// A user as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct UserView {
    #[schema(example = "ada")]
    pub id: String,
    pub name: String,
    pub email: String,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl UserView {
    /// The view of a stored user.
    pub fn of(r: UserRecord) -> UserView {
        UserView {
            id: r.id,
            name: r.name,
            email: r.email,
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
        }
    }
}

/// One page of users, in id order.
#[derive(Serialize, ToSchema)]
pub struct UserPage {
    pub items: Vec<UserView>,
    /// Pass as `cursor` for the next page (the id of this page's last
    /// user); `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A key as lists show it: never the secret.
#[derive(Serialize, ToSchema)]
pub struct KeyView {
    #[schema(example = "3f9a0c1be27d4a55")]
    pub id: String,
    pub name: Option<String>,
    pub scopes: Vec<Scope>,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// RFC 3339; `null` for a key that never expires.
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

impl KeyView {
    /// The view of a stored key, without anything secret.
    pub fn of(r: &KeyRecord) -> KeyView {
        KeyView {
            id: r.id.clone(),
            name: r.name.clone(),
            scopes: Scopes::from_bits(r.scopes).list(),
            created_at: rfc3339(r.created_at),
            expires_at: r.expires_at.map(rfc3339),
        }
    }
}

/// A key just issued: the only time its secret is shown.
#[derive(Serialize, ToSchema)]
pub struct IssuedKeyView {
    #[serde(flatten)]
    pub info: KeyView,
    /// The secret (`sk_…`); store it now, it cannot be shown again.
    #[schema(example = "sk_3q2-7wEAAAC6tq7lTmXkd2ZxS1mVBeLk0pOq8nW3ySg")]
    pub key: String,
}

/// The user's keys.
#[derive(Serialize, ToSchema)]
pub struct KeyList {
    pub items: Vec<KeyView>,
}
