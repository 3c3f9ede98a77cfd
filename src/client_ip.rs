//! Who the client is: the TCP peer, unless that peer is a configured
//! trusted proxy, in which case `X-Forwarded-For` is believed as far back
//! as it passes through trusted proxies.

use std::net::IpAddr;
use std::str::FromStr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The client address that logs show and per-IP rate limits key on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// The proxies whose `X-Forwarded-For` is believed (`trusted_proxies`).
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses CIDRs or bare addresses; the error names the bad entry.
    pub fn parse(entries: &[String]) -> Result<TrustedProxies, String> {
        entries
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(|s| {
                IpNet::from_str(s)
                    .or_else(|_| IpAddr::from_str(s).map(IpNet::from))
                    .map_err(|_| format!("trusted_proxies: {s:?} is not a CIDR or an IP address"))
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client behind `peer`: with an untrusted peer, the peer itself
    /// (a spoofed header is ignored); with a trusted one, the right-most
    /// `X-Forwarded-For` entry that is not itself a trusted proxy.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> ClientIp {
        let peer = canonical(peer);
        if self.0.is_empty() || !self.trusts(peer) {
            return ClientIp(peer);
        }
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        let mut client = peer;
        for hop in hops.iter().rev() {
            match parse_hop(hop) {
                Some(ip) => {
                    client = ip;
                    if !self.trusts(ip) {
                        break;
                    }
                }
                // Garbage in the chain: stop at the last address we trust.
                None => break,
            }
        }
        ClientIp(client)
    }
}

/// An `X-Forwarded-For` entry: an address, possibly with a port or brackets.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = IpAddr::from_str(hop) {
        return Some(canonical(ip));
    }
    if let Ok(addr) = std::net::SocketAddr::from_str(hop) {
        return Some(canonical(addr.ip()));
    }
    let inner = hop.strip_prefix('[')?.strip_suffix(']')?;
    IpAddr::from_str(inner).ok().map(canonical)
}

/// IPv4-mapped IPv6 addresses (dual-stack sockets) as plain IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn untrusted_peers_cannot_spoof() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8".to_owned()]).unwrap();
        let got = proxies.client(ip("203.0.113.9"), &headers("1.2.3.4"));
        assert_eq!(got, ClientIp(ip("203.0.113.9")));
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(ip("10.0.0.1"), &headers("1.2.3.4")).0,
            ip("10.0.0.1")
        );
    }

    #[test]
    fn trusted_chains_are_walked_from_the_right() {
        let proxies =
            TrustedProxies::parse(&["10.0.0.0/8".to_owned(), "192.0.2.7".to_owned()]).unwrap();
        let h = headers("6.6.6.6, 198.51.100.4, 192.0.2.7");
        assert_eq!(proxies.client(ip("10.1.2.3"), &h).0, ip("198.51.100.4"));
        // Every hop trusted: the left-most one is the client.
        let h = headers("10.9.9.9");
        assert_eq!(proxies.client(ip("10.1.2.3"), &h).0, ip("10.9.9.9"));
        // No header at all: the proxy itself.
        assert_eq!(
            proxies.client(ip("10.1.2.3"), &HeaderMap::new()).0,
            ip("10.1.2.3")
        );
    }

    #[test]
    fn odd_entries_are_handled() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8".to_owned()]).unwrap();
        let h = headers("[2001:db8::1]:443");
        assert_eq!(proxies.client(ip("10.0.0.1"), &h).0, ip("2001:db8::1"));
        let h = headers("1.1.1.1, not-an-ip");
        assert_eq!(proxies.client(ip("10.0.0.1"), &h).0, ip("10.0.0.1"));
        let mapped = ip("::ffff:10.0.0.1");
        assert_eq!(proxies.client(mapped, &headers("5.5.5.5")).0, ip("5.5.5.5"));
        assert!(TrustedProxies::parse(&["nope".to_owned()]).is_err());
    }
}
