//! The names and addresses this service answers to. A link pointing at
//! any of them would redirect to shorty itself, in a loop.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// One name or address of this service, in the form link hosts are
/// compared in: names lower-case, in punycode, without the root dot;
/// addresses with IPv4-mapped IPv6 folded to IPv4.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OwnHost {
    Name(String),
    Ip(IpAddr),
}

impl OwnHost {
    /// Parses `name`, `name:port`, an address, or `[v6]:port`; the port
    /// is ignored, since a loop does not depend on it.
    pub fn parse(entry: &str) -> Result<OwnHost, String> {
        let refuse = || format!("{entry:?} is not a host name or address");
        let entry = entry.trim();
        if entry.is_empty() || entry.contains(['/', '@', '?', '#']) {
            return Err(refuse());
        }
        let url = Url::parse(&format!("http://{entry}/")).map_err(|_| refuse())?;
        match url.host() {
            Some(host) => Ok(OwnHost::of(&host)),
            None => Err(refuse()),
        }
    }

    /// The canonical form of a parsed host.
    pub fn of(host: &Host<&str>) -> OwnHost {
        match host {
            Host::Domain(name) => OwnHost::Name(canonical_name(name)),
            Host::Ipv4(ip) => OwnHost::Ip(IpAddr::V4(*ip)),
            Host::Ipv6(ip) => OwnHost::Ip(fold_mapped(*ip)),
        }
    }

    /// Whether this host is the local machine under a name every host has:
    /// `localhost` (and names under it, RFC 6761), a loopback address, or
    /// an unspecified ("this host") address.
    pub fn is_local(&self) -> bool {
        match self {
            OwnHost::Name(name) => name == "localhost" || name.ends_with(".localhost"),
            OwnHost::Ip(IpAddr::V4(ip)) => ip.is_loopback() || ip.octets()[0] == 0,
            OwnHost::Ip(IpAddr::V6(ip)) => ip.is_loopback() || ip.is_unspecified(),
        }
    }
}

/// Lower-case, without the trailing root dot, so `EXAMPLE.com.` matches
/// `example.com`.
pub fn canonical_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// `::ffff:a.b.c.d` and `::a.b.c.d` as the IPv4 address they carry, so a
/// loopback cannot hide behind IPv6 notation.
fn fold_mapped(ip: Ipv6Addr) -> IpAddr {
    if ip.is_loopback() || ip.is_unspecified() {
        return IpAddr::V6(ip);
    }
    match ip.to_ipv4() {
        Some(v4) if v4 != Ipv4Addr::UNSPECIFIED => IpAddr::V4(v4),
        _ => IpAddr::V6(ip),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own(entry: &str) -> OwnHost {
        OwnHost::parse(entry).unwrap()
    }

    #[test]
    fn entries_are_parsed_in_every_form_and_folded() {
        assert_eq!(
            own("LB.Example.COM."),
            OwnHost::Name("lb.example.com".into())
        );
        assert_eq!(own("lb.example.com:8443"), own("lb.example.com"));
        assert_eq!(own("bücher.de"), OwnHost::Name("xn--bcher-kva.de".into()));
        assert_eq!(
            own("10.0.0.5:8080"),
            OwnHost::Ip("10.0.0.5".parse().unwrap())
        );
        assert_eq!(own("[2001:db8::1]:80"), own("[2001:DB8:0:0::1]"));
        assert_eq!(own("[::ffff:10.0.0.5]"), own("10.0.0.5"));
        for bad in ["", " ", "a b", "http://x/", "user@host", "x/y", "[::1"] {
            assert!(OwnHost::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn local_names_and_addresses_are_recognised() {
        for local in [
            "localhost",
            "LOCALHOST.",
            "api.localhost",
            "127.0.0.1",
            "127.1.2.3",
            "0.0.0.0",
            "[::1]",
            "[::]",
            "[0:0:0:0:0:0:0:1]",
            "[::ffff:127.0.0.1]",
            "[::ffff:7f00:1]",
        ] {
            assert!(own(local).is_local(), "{local}");
        }
        for remote in [
            "example.com",
            "localhost.example.com",
            "10.0.0.1",
            "[2001:db8::1]",
        ] {
            assert!(!own(remote).is_local(), "{remote}");
        }
    }
}
