//! `Tags`: the labels a link carries, for finding it again (`?tag=`).

/// Most tags one link may carry.
pub const MAX_TAGS: usize = 10;
/// Longest tag, in characters.
pub const MAX_TAG_LEN: usize = 40;

/// Why tags were refused; the message is shown to the client.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    #[error("a link has at most {MAX_TAGS} tags")]
    TooMany,
    #[error("a tag is 1 to {MAX_TAG_LEN} characters long")]
    Length,
    #[error("a tag may contain A-Z, a-z, 0-9 and '-', '_', '.', ':', '/' only")]
    Charset,
}

/// A link's tags: each well formed, none twice, at most [`MAX_TAGS`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tags(Vec<String>);

impl Tags {
    /// Checks every tag; duplicates are dropped, the first kept in place.
    pub fn parse(raw: &[String]) -> Result<Tags, TagError> {
        if raw.len() > MAX_TAGS {
            return Err(TagError::TooMany);
        }
        let mut tags: Vec<String> = Vec::with_capacity(raw.len());
        for tag in raw {
            let tag = parse_tag(tag)?;
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        Ok(Tags(tags))
    }

    /// The tags, in the order given.
    pub fn into_vec(self) -> Vec<String> {
        self.0
    }
}

/// The tags [`parse_tag`] accepts, as a JSON Schema pattern.
pub const TAG_PATTERN: &str = "^[A-Za-z0-9_.:/-]{1,40}$";

/// One tag, checked: what `?tag=` filters by.
pub fn parse_tag(raw: &str) -> Result<String, TagError> {
    if !(1..=MAX_TAG_LEN).contains(&raw.chars().count()) {
        return Err(TagError::Length);
    }
    if !raw
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/'))
    {
        return Err(TagError::Charset);
    }
    Ok(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn good_tags_pass_and_duplicates_go() {
        let tags = Tags::parse(&strings(&["launch", "q3:2026", "launch", "a/b"])).unwrap();
        assert_eq!(tags.into_vec(), strings(&["launch", "q3:2026", "a/b"]));
        assert_eq!(Tags::parse(&[]).unwrap(), Tags::default());
    }

    #[test]
    fn bad_tags_are_refused() {
        assert_eq!(Tags::parse(&strings(&[""])), Err(TagError::Length));
        assert_eq!(
            Tags::parse(&strings(&[&"x".repeat(41)])),
            Err(TagError::Length)
        );
        for bad in ["a,b", "a b", "<script>", "tab\t", "x%y", "ünï", "\0"] {
            assert_eq!(
                Tags::parse(&strings(&[bad])),
                Err(TagError::Charset),
                "{bad}"
            );
        }
        let eleven: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
        assert_eq!(Tags::parse(&eleven), Err(TagError::TooMany));
        let repeated: Vec<String> = (0..10).map(|i| format!("t{}", i % 3)).collect();
        assert_eq!(Tags::parse(&repeated).unwrap().into_vec().len(), 3);
        let pattern = TAG_PATTERN
            .trim_start_matches("^[")
            .trim_end_matches("]{1,40}$");
        assert_eq!(
            pattern, "A-Za-z0-9_.:/-",
            "the pattern names what parse_tag accepts"
        );
    }
}
