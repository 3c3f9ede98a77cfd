//! The `TargetUrl` newtype: a destination that is safe to redirect to.

use std::path::Path;

use url::{Host, Url};

use super::own_host::{canonical_name, OwnHost};

/// Everything needed to judge a destination URL, built once from config.
#[derive(Clone, Debug, Default)]
pub struct UrlPolicy {
    /// Longest accepted URL in bytes, before and after normalization.
    pub max_len: usize,
    /// Names and addresses of this service beyond the local ones every
    /// host has; links to them would loop.
    pub own_hosts: Vec<OwnHost>,
    /// Blocked host suffixes, lower-case and in punycode.
    pub blocklist: Vec<String>,
}

impl UrlPolicy {
    /// A policy that knows the service's public base URL.
    pub fn new(max_len: usize, base_url: &Url, blocklist: Vec<String>) -> UrlPolicy {
        UrlPolicy {
            max_len,
            own_hosts: base_url
                .host()
                .map(|h| OwnHost::of(&h))
                .into_iter()
                .collect(),
            blocklist,
        }
    }

    /// Adds more names of this service (`own_hosts`, the listen address);
    /// fails naming the first entry that is not a host.
    pub fn with_own_hosts<'a>(
        mut self,
        entries: impl IntoIterator<Item = &'a str>,
    ) -> Result<UrlPolicy, String> {
        for entry in entries {
            self.own_hosts.push(OwnHost::parse(entry)?);
        }
        Ok(self)
    }

    /// Whether `host` is this service under any name it answers to.
    fn is_own(&self, host: &OwnHost) -> bool {
        host.is_local() || self.own_hosts.contains(host)
    }

    /// Reads a blocklist file: one host suffix per line, `#` comments and
    /// blank lines ignored, IDN entries converted to punycode.
    pub fn read_blocklist(path: &Path) -> Result<Vec<String>, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read blocklist {}: {e}", path.display()))?;
        let mut entries = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let entry = line.split('#').next().unwrap_or("").trim();
            let entry = entry.trim_start_matches("*.").trim_start_matches('.');
            if entry.is_empty() {
                continue;
            }
            match Host::parse(entry) {
                Ok(host) => entries.push(canonical_name(&host.to_string())),
                Err(e) => {
                    return Err(format!(
                        "{}:{}: {entry:?} is not a host name: {e}",
                        path.display(),
                        number + 1
                    ))
                }
            }
        }
        Ok(entries)
    }

    fn is_blocked(&self, host: &str) -> bool {
        self.blocklist.iter().any(|suffix| {
            host == suffix
                || (host.len() > suffix.len()
                    && host.ends_with(suffix.as_str())
                    && host.as_bytes()[host.len() - suffix.len() - 1] == b'.')
        })
    }
}

/// A checked, normalized `http`/`https` destination URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetUrl(String);

impl TargetUrl {
    /// Applies every URL rule from the spec and returns the normalized form
    /// (IDN hosts in punycode, scheme and host lower-cased), or the reason the
    /// URL is refused.
    pub fn parse(raw: &str, policy: &UrlPolicy) -> Result<TargetUrl, String> {
        if raw.len() > policy.max_len {
            return Err(format!("url is longer than {} bytes", policy.max_len));
        }
        if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("url must not contain whitespace or control characters".to_owned());
        }
        let url = Url::parse(raw).map_err(|e| format!("url is not a valid absolute URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "url scheme '{}' is not allowed; use http or https",
                url.scheme()
            ));
        }
        let (host, own) = match url.host() {
            Some(host) => (canonical_name(&host.to_string()), OwnHost::of(&host)),
            None => return Err("url must have a host".to_owned()),
        };
        // A host of dots alone (`https://./`) is empty once the root dot
        // is trimmed: there is nowhere to redirect to.
        if host.is_empty() {
            return Err("url must have a host".to_owned());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("url must not contain a user name or password".to_owned());
        }
        if policy.is_own(&own) {
            return Err("url points at this shortener itself, which would loop".to_owned());
        }
        if policy.is_blocked(&host) {
            return Err(format!("host '{host}' is on the blocklist"));
        }
        let normalized = String::from(url);
        if normalized.len() > policy.max_len {
            return Err(format!(
                "url is longer than {} bytes once normalized",
                policy.max_len
            ));
        }
        Ok(TargetUrl(normalized))
    }

    /// The normalized URL, exactly as it is stored and sent in `Location`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Consumes the URL, returning its text.
    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> UrlPolicy {
        let base = Url::parse("https://sho.rt").unwrap();
        UrlPolicy::new(
            2048,
            &base,
            vec!["evil.test".into(), "xn--bcher-kva.example".into()],
        )
    }

    fn parse(raw: &str) -> Result<String, String> {
        TargetUrl::parse(raw, &policy()).map(TargetUrl::into_string)
    }

    #[test]
    fn accepts_and_normalizes_http_and_https() {
        assert_eq!(
            parse("https://example.com/a?b=c").unwrap(),
            "https://example.com/a?b=c"
        );
        assert_eq!(parse("HTTP://Example.COM").unwrap(), "http://example.com/");
        assert_eq!(
            parse("https://example.com:443/x").unwrap(),
            "https://example.com/x"
        );
    }

    #[test]
    fn refuses_other_schemes() {
        for bad in [
            "javascript:alert(1)",
            "data:text/html,hi",
            "file:///etc/passwd",
            "ftp://example.com/",
            "mailto:a@example.com",
        ] {
            assert!(parse(bad).unwrap_err().contains("scheme"), "{bad}");
        }
    }

    #[test]
    fn refuses_relative_and_hostless_urls() {
        assert!(parse("/just/a/path").is_err());
        assert!(parse("example.com").is_err());
        assert!(parse("https://").is_err());
        for dots in [
            "https://.",
            "https://../",
            "http://.../x",
            "https://%2e/",
            "https://.:8080/",
        ] {
            assert!(parse(dots).unwrap_err().contains("host"), "{dots}");
        }
    }

    #[test]
    fn refuses_userinfo() {
        assert!(parse("https://user:pw@example.com/")
            .unwrap_err()
            .contains("password"));
        assert!(parse("https://user@example.com/").is_err());
        assert!(parse("https://:pw@example.com/").is_err());
    }

    #[test]
    fn refuses_control_characters_and_whitespace() {
        for bad in [
            "https://example.com/a b",
            "https://example.com/\ta",
            "https://example.com/\n",
            " https://example.com/",
            "https://example.com/\u{7f}",
            "https://example.com/\u{0}",
            "https://example.com/\u{a0}x",
            "https://example.com/\u{2028}",
        ] {
            assert!(parse(bad).unwrap_err().contains("whitespace"), "{bad:?}");
        }
    }

    #[test]
    fn enforces_length_before_and_after_normalization() {
        let path = "a".repeat(2048 - "https://example.com/".len());
        assert!(parse(&format!("https://example.com/{path}")).is_ok());
        assert!(parse(&format!("https://example.com/{path}b"))
            .unwrap_err()
            .contains("longer"));
        // 700 two-byte characters are 1,400 bytes raw but 4,200 once percent-encoded.
        let wide = "é".repeat(700);
        assert!(parse(&format!("https://example.com/{wide}"))
            .unwrap_err()
            .contains("normalized"));
    }

    #[test]
    fn stores_idn_hosts_as_punycode() {
        assert_eq!(
            parse("https://bücher.de/x").unwrap(),
            "https://xn--bcher-kva.de/x"
        );
        assert_eq!(
            parse("https://BÜCHER.de/").unwrap(),
            "https://xn--bcher-kva.de/"
        );
    }

    #[test]
    fn refuses_links_to_itself_under_any_name() {
        for bad in ["https://sho.rt/abc", "http://SHO.RT/", "https://sho.rt./x"] {
            assert!(parse(bad).unwrap_err().contains("loop"), "{bad}");
        }
        assert!(parse("https://sub.sho.rt/").is_ok());
        let local = [
            "http://localhost:8080/x",
            "http://LOCALHOST./",
            "http://app.localhost/",
            "http://127.0.0.1:9/",
            "http://127.8.9.10/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://0.0.0.0/",
            "http://[::1]:8080/abc",
            "http://[0:0:0:0:0:0:0:1]/",
            "http://[::]/",
            "http://[::FFFF:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
        ];
        for bad in local {
            assert!(parse(bad).unwrap_err().contains("loop"), "{bad}");
        }
        let policy = policy()
            .with_own_hosts(["lb.example.com:443", "10.0.0.5", "[2001:db8::5]"])
            .unwrap();
        for bad in [
            "https://LB.example.com./",
            "http://10.0.0.5:8080/",
            "http://[2001:DB8:0::5]/",
            "http://[::ffff:10.0.0.5]/",
        ] {
            let refused = TargetUrl::parse(bad, &policy).unwrap_err();
            assert!(refused.contains("loop"), "{bad}");
        }
        for ok in [
            "https://example.com/",
            "http://10.0.0.6/",
            "http://localhost.example/",
        ] {
            assert!(TargetUrl::parse(ok, &policy).is_ok(), "{ok}");
        }
        assert!(policy.with_own_hosts(["not a host"]).is_err());
    }

    #[test]
    fn blocklist_matches_host_suffixes_only() {
        for bad in [
            "https://evil.test/",
            "https://a.b.evil.test/x",
            "https://EVIL.test./",
        ] {
            assert!(parse(bad).unwrap_err().contains("blocklist"), "{bad}");
        }
        assert!(parse("https://notevil.test/").is_ok());
        assert!(parse("https://evil.test.example/").is_ok());
        assert!(parse("https://www.bücher.example/")
            .unwrap_err()
            .contains("blocklist"));
    }

    #[test]
    fn reads_blocklist_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blocklist.txt");
        std::fs::write(
            &path,
            "# spam\nEvil.Test\n\n*.bücher.example  # idn\n.dot.example\n",
        )
        .unwrap();
        let entries = UrlPolicy::read_blocklist(&path).unwrap();
        assert_eq!(
            entries,
            ["evil.test", "xn--bcher-kva.example", "dot.example"]
        );
        std::fs::write(&path, "ok.example\nnot a host\n").unwrap();
        assert!(UrlPolicy::read_blocklist(&path)
            .unwrap_err()
            .contains(":2:"));
        assert!(UrlPolicy::read_blocklist(&dir.path().join("missing")).is_err());
    }
}
