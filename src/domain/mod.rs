//! Validated value types. Handlers only ever see values that passed these
//! parsers, so the rest of the crate never re-checks input.

pub mod alias;
pub mod api_key;
pub mod code;
pub mod codegen;
pub mod link;
pub mod own_host;
#[cfg(test)]
mod parser_props;
pub mod password;
pub mod principal;
pub mod qr_options;
pub mod scope;
pub mod secret;
pub mod session;
pub mod tag;
pub mod target_url;
pub mod user;

pub use alias::Alias;
pub use code::Code;
pub use codegen::CodeGenerator;
pub use link::{Expiry, MaxClicks, RedirectStatus};
pub use own_host::OwnHost;
pub use principal::Principal;
pub use scope::{Scope, Scopes};
pub use secret::SecretDigest;
pub use tag::Tags;
pub use target_url::{TargetUrl, UrlPolicy};
pub use user::{Email, UserId, UserName};
