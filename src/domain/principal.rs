//! `Principal`: whom a request acts for once its credentials passed, and
//! which links that lets it touch. The API and the web pages decide with
//! the same rules.

/// Whom a request acts for, once its credentials passed a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// The admin: every link and user.
    Admin,
    /// A user, through one of their keys: their own links only.
    User(String),
}

impl Principal {
    /// Whether this principal may act on a link owned by `owner`.
    pub fn owns(&self, owner: Option<&str>) -> bool {
        match self {
            Principal::Admin => true,
            Principal::User(id) => owner == Some(id.as_str()),
        }
    }

    /// The owner of links this principal creates.
    pub fn owner(&self) -> Option<String> {
        match self {
            Principal::Admin => None,
            Principal::User(id) => Some(id.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_own_only_their_links_and_the_admin_all() {
        let ada = Principal::User("ada".into());
        assert!(ada.owns(Some("ada")));
        assert!(!ada.owns(Some("bob")));
        assert!(!ada.owns(None));
        assert!(Principal::Admin.owns(None));
        assert!(Principal::Admin.owns(Some("bob")));
        assert_eq!(ada.owner().as_deref(), Some("ada"));
        assert_eq!(Principal::Admin.owner(), None);
    }
}
