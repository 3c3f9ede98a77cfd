//! Reading submitted forms: `PageForm<T>` (whose rejections are error pages
//! like any other), and the small conversions from form text to the
//! API's request bodies, so the pages are checked by the same validators.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::page::{Errors, PageError};
use crate::api::extract::{ApiQuery, CodePath};
use crate::domain::Code;
use crate::error::AppError;

/// `Form<T>` (urlencoded) with rejections as error pages: 415 for another
/// body type, 413 past the body limit, 400 for a malformed form.
pub struct PageForm<T>(pub T);

impl<S, T> FromRequest<S> for PageForm<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, PageError> {
        match Form::<T>::from_request(req, state).await {
            Ok(Form(value)) => Ok(PageForm(value)),
            Err(rejection) => Err(rejected(rejection).into()),
        }
    }
}

/// `Path<T>` with rejections as a 404 page: a path segment that is not
/// UTF-8 names nothing here.
pub struct PagePath<T>(pub T);

impl<S, T> FromRequestParts<S> for PagePath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, PageError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(PagePath(value)),
            Err(_) => Err(AppError::NotFound("there is no page here".to_owned()).into()),
        }
    }
}

/// A link's `{code}` path segment, checked, with a 404 page for anything
/// that cannot be a code.
pub struct PageCode(pub Code);

impl<S: Send + Sync> FromRequestParts<S> for PageCode {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, PageError> {
        let CodePath(code) = CodePath::from_request_parts(parts, state).await?;
        Ok(PageCode(code))
    }
}

/// `Query<T>` with a 400 page for a query string that does not parse.
pub struct PageQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for PageQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, PageError> {
        let ApiQuery(value) = ApiQuery::<T>::from_request_parts(parts, state).await?;
        Ok(PageQuery(value))
    }
}

fn rejected(rejection: FormRejection) -> AppError {
    match rejection.status() {
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            AppError::UnsupportedMediaType("send the form as a form".to_owned())
        }
        StatusCode::PAYLOAD_TOO_LARGE => {
            AppError::PayloadTooLarge("the form is too large".to_owned())
        }
        _ => AppError::BadRequest(format!(
            "the form could not be read: {}",
            rejection.body_text()
        )),
    }
}

/// A text field: `None` when left empty (or only spaces).
pub fn filled(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// A whole-number field: `None` when empty, an error next to the field
/// when it is not a number.
pub fn whole_number(field: &str, text: &str, errors: &mut Errors) -> Option<i64> {
    let text = filled(text)?;
    match text.parse() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.push(field, "must be a whole number");
            None
        }
    }
}

/// Tags as typed: separated by commas or spaces, empty ones dropped.
pub fn tag_list(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The errors an API validation failure (422) reports, to show next to
/// their fields; any other error is returned as it is.
pub fn field_errors(error: AppError, errors: &mut Errors) -> Result<(), AppError> {
    match error {
        AppError::Validation(fields) => {
            errors.0.extend(fields);
            Ok(())
        }
        other => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_text_becomes_values() {
        assert_eq!(filled("  "), None);
        assert_eq!(filled(" a b ").as_deref(), Some("a b"));
        let mut errors = Errors::default();
        assert_eq!(whole_number("n", " 12 ", &mut errors), Some(12));
        assert_eq!(whole_number("n", "", &mut errors), None);
        assert!(!errors.any());
        assert_eq!(whole_number("n", "twelve", &mut errors), None);
        assert_eq!(errors.get("n"), Some("must be a whole number"));
        assert_eq!(tag_list("a, b  c,,"), ["a", "b", "c"]);
        assert!(tag_list(" , ").is_empty());
    }
}
