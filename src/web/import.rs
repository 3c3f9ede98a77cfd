//! The admin's import upload: a file in shorty's own JSON lines or another
//! shortener's export, imported (or dry-run) by the same importer as
//! `shorty import`, with a report of every row it could not take.

use std::io::Cursor;
use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::page::{render, Choice, Errors, Layout, PageError};
use super::visitor::Visitor;
use crate::api::AppState;
use crate::domain::UserId;
use crate::error::AppError;
use crate::links::import::{ImportError, ImportFormat, ImportOptions, ImportReport};

/// Largest upload, in MiB.
pub const MAX_UPLOAD_MIB: usize = 32;
/// The upload route's body limit: the file plus the form's other fields.
pub const UPLOAD_BODY_LIMIT: usize = MAX_UPLOAD_MIB * 1024 * 1024 + 64 * 1024;

/// The upload form's options and, after a refused upload, what was sent
/// and what was wrong with it.
pub struct ImportChoices {
    pub formats: Vec<Choice>,
    pub max_mib: usize,
    pub owner: String,
    pub dry_run: bool,
    pub errors: Errors,
}

impl ImportChoices {
    /// The empty form: shorty's own format, a dry run first.
    pub fn new() -> ImportChoices {
        ImportChoices::filled("jsonl", String::new(), true, Errors::default())
    }

    fn filled(format: &str, owner: String, dry_run: bool, errors: Errors) -> ImportChoices {
        ImportChoices {
            formats: Choice::list(
                &[
                    ("jsonl", "shorty (JSON lines from shorty export)"),
                    ("shlink", "Shlink (CSV)"),
                    ("bitly", "Bitly (CSV export)"),
                    ("yourls", "YOURLS (yourls_url table as CSV)"),
                    ("chhoto", "chhoto-url (JSON export)"),
                ],
                format,
            ),
            max_mib: MAX_UPLOAD_MIB,
            owner,
            dry_run,
            errors,
        }
    }
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    layout: Layout,
    report: Option<ImportReport>,
    file_name: String,
    unit: &'static str,
    import: ImportChoices,
}

/// The form as sent.
#[derive(Default)]
struct Upload {
    csrf: String,
    format: String,
    owner: String,
    dry_run: bool,
    file_name: String,
    file: Option<Bytes>,
}

/// `GET /ui/admin/import`: the form on its own.
pub async fn form_page(visitor: Visitor) -> Result<Response, PageError> {
    visitor.require_admin("/ui/admin/import")?;
    let page = ImportPage {
        layout: visitor.layout("Import", "admin"),
        report: None,
        file_name: String::new(),
        unit: "Line",
        import: ImportChoices::new(),
    };
    Ok(render(&page, StatusCode::OK))
}

/// `POST /ui/admin/import` (multipart): imports the file, or dry-runs it,
/// and shows the report.
pub async fn upload(
    State(state): State<Arc<AppState>>,
    visitor: Visitor,
    headers: HeaderMap,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    // Signed-in admins only, before a byte of the file is read.
    visitor.require_admin("/ui/admin")?;
    let mut form = form.map_err(|e| {
        AppError::UnsupportedMediaType(format!("send the file as a form upload: {}", e.body_text()))
    })?;
    let upload = read_upload(&mut form).await?;
    visitor.check_csrf(&upload.csrf, &headers)?;

    let mut errors = Errors::default();
    let format = ImportFormat::parse(&upload.format);
    if format.is_none() {
        errors.push("format", "choose one of the formats listed");
    }
    let owner = match upload.owner.trim() {
        "" => None,
        id => UserId::parse(id).map_err(|e| errors.push("owner", e)).ok(),
    };
    let file = upload.file.clone().filter(|f| !f.is_empty());
    if file.is_none() {
        errors.push("file", "choose a file to import (this one is empty)");
    }
    let (Some(format), Some(file), false) = (format, file, errors.any()) else {
        return Ok(refused(&visitor, upload, errors));
    };
    let options = ImportOptions {
        format,
        dry_run: upload.dry_run,
        owner,
    };
    match state
        .links
        .import_file(Cursor::new(file), &options, |_| {})
        .await
    {
        Ok(report) => {
            if !report.dry_run {
                tracing::info!(
                    imported = report.imported,
                    taken = report.taken,
                    rejected = report.rejected,
                    "links imported from the admin page"
                );
            }
            let page = ImportPage {
                layout: visitor.layout("Import", "admin"),
                report: Some(report),
                file_name: upload.file_name.clone(),
                unit: if format == ImportFormat::Chhoto {
                    "Entry"
                } else {
                    "Line"
                },
                import: ImportChoices::filled(&upload.format, upload.owner, upload.dry_run, errors),
            };
            Ok(render(&page, StatusCode::OK))
        }
        Err(ImportError::Store(e)) => Err(AppError::from(e).into()),
        Err(ImportError::UnknownOwner(id)) => {
            errors.push("owner", format!("there is no user {id:?}"));
            Ok(refused(&visitor, upload, errors))
        }
        Err(ImportError::Unreadable(reason)) => {
            errors.push(
                "file",
                format!("this file cannot be read as {}: {reason}", upload.format),
            );
            Ok(refused(&visitor, upload, errors))
        }
    }
}

/// The form again, with `errors` next to their fields.
fn refused(visitor: &Visitor, upload: Upload, errors: Errors) -> Response {
    let format = if ImportFormat::parse(&upload.format).is_some() {
        upload.format.as_str()
    } else {
        "jsonl"
    };
    let page = ImportPage {
        layout: visitor.layout("Import", "admin"),
        report: None,
        file_name: upload.file_name.clone(),
        unit: "Line",
        import: ImportChoices::filled(format, upload.owner.clone(), upload.dry_run, errors),
    };
    render(&page, StatusCode::UNPROCESSABLE_ENTITY)
}

/// The fields of the upload form; unknown fields are refused, so a
/// request cannot pad the body with parts the handler never looks at.
async fn read_upload(form: &mut Multipart) -> Result<Upload, AppError> {
    let mut upload = Upload::default();
    while let Some(field) = form.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "file" => {
                upload.file_name = field
                    .file_name()
                    .unwrap_or("the file")
                    .chars()
                    .take(200)
                    .collect();
                upload.file = Some(field.bytes().await.map_err(unreadable)?);
            }
            "csrf" | "format" | "owner" | "dry_run" => {
                let text = field.text().await.map_err(unreadable)?;
                let text: String = text.chars().take(200).collect();
                match name.as_str() {
                    "csrf" => upload.csrf = text,
                    "format" => upload.format = text,
                    "owner" => upload.owner = text,
                    _ => upload.dry_run = !text.is_empty(),
                }
            }
            other => {
                return Err(AppError::BadRequest(format!(
                    "the upload form has no field {:?}",
                    other.chars().take(40).collect::<String>()
                )))
            }
        }
    }
    Ok(upload)
}

fn unreadable(e: MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge(format!("the file is larger than {MAX_UPLOAD_MIB} MiB"))
    } else {
        AppError::BadRequest(format!("the upload could not be read: {}", e.body_text()))
    }
}
