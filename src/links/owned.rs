//! The link operations that check whose link it is first, so the API and
//! the web pages answer someone else's link the same way (403 rather than
//! 404: codes are public anyway, anyone can follow them).

use super::input::PatchBody;
use super::view::now_ms;
use super::{not_deleted, LinkService};
use crate::domain::Principal;
use crate::error::AppError;
use crate::store::LinkRecord;

/// 403 for a link that is not the principal's.
fn check(who: &Principal, record: &LinkRecord) -> Result<(), AppError> {
    if who.owns(record.owner.as_deref()) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "that link belongs to someone else".to_owned(),
        ))
    }
}

impl LinkService {
    /// The principal's live (or expired) link: 404 unknown, 403 someone
    /// else's, 410 deleted, in that order.
    pub async fn get_for(&self, who: &Principal, code: &str) -> Result<LinkRecord, AppError> {
        let record = self.get_any(code).await?;
        check(who, &record)?;
        not_deleted(record)
    }

    /// Changes the principal's link; the body is checked once the link
    /// is known to be theirs, so others learn nothing from a 422.
    pub async fn patch_for(
        &self,
        who: &Principal,
        code: &str,
        body: PatchBody,
    ) -> Result<LinkRecord, AppError> {
        check(who, &self.get_any(code).await?)?;
        let valid = body.validate(self.rules(), now_ms())?;
        self.patch(code, valid).await
    }

    /// Deletes the principal's link.
    pub async fn delete_for(&self, who: &Principal, code: &str) -> Result<(), AppError> {
        check(who, &self.get_any(code).await?)?;
        self.delete(code).await
    }
}
