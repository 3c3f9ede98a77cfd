//! What the redirect path records per visit: a small fixed-size entry in
//! its own thread's log, and the user agent and referrer host once per
//! distinct pair. Nothing is parsed, matched or looked up here; that is
//! the flush's work ([`super::rollup`]), off the serving threads.

use std::net::IpAddr;

use hashbrown::HashTable;

/// Longest user agent kept; longer ones are cut (real ones are far
/// shorter, and the parsers only look at the start).
pub const MAX_USER_AGENT: usize = 512;
/// Longest referrer host kept (a DNS name is at most 253 bytes).
pub const MAX_HOST: usize = 253;

/// Visits a log holds before it is sealed and handed to the flusher.
pub const LOG_CAP: usize = 1 << 16;
/// Distinct agents a log holds before it is sealed.
pub const MAX_AGENTS: usize = 4096;

/// The link id recorded for a request for a code no link has.
pub const UNKNOWN_LINK: i64 = 0;

/// One request, as the redirect path sees it, borrowed from the request.
#[derive(Clone, Copy, Debug)]
pub struct Visit<'a> {
    pub user_agent: &'a [u8],
    /// The `Referer` header, whole; only its host is kept.
    pub referer: &'a [u8],
    /// The client address (behind trusted proxies, the forwarded one).
    pub ip: IpAddr,
    /// A HEAD request: never a person following a link.
    pub head: bool,
}

/// What sets a visit's dimensions apart, kept once per log.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Agent {
    pub user_agent: Box<str>,
    /// The referrer's host, lower-cased; empty for none.
    pub referrer: Box<str>,
}

/// One visit in a log: 40 bytes, no allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    pub link_id: i64,
    pub ip: IpAddr,
    pub day: i32,
    /// Index into the log's agents.
    pub agent: u32,
    pub head: bool,
    /// Already counted in the link's clicks (a capped link's click, which
    /// is counted durably before the redirect): analytics only.
    pub counted: bool,
}

/// One thread's visits since its log was last taken.
#[derive(Default)]
pub struct VisitLog {
    pub hits: Vec<Hit>,
    pub agents: Vec<Agent>,
    index: HashTable<u32>,
}

impl VisitLog {
    /// Whether the log should be sealed before it takes another visit.
    pub fn is_full(&self) -> bool {
        self.hits.len() >= LOG_CAP || self.agents.len() >= MAX_AGENTS
    }

    /// Appends a visit to `link_id` on `day`.
    pub fn push(&mut self, link_id: i64, day: i32, visit: &Visit<'_>, counted: bool) {
        let agent = self.agent_of(visit);
        self.hits.push(Hit {
            link_id,
            ip: visit.ip,
            day,
            agent,
            head: visit.head,
            counted,
        });
    }

    /// Takes everything, leaving an empty log with room for as many
    /// visits and agents as it held: the serving threads do not regrow it
    /// every second (the allocation happens here, on the flusher).
    pub fn take(&mut self) -> (Vec<Hit>, Vec<Agent>) {
        self.index.clear();
        let hits = Vec::with_capacity(self.hits.len());
        let agents = Vec::with_capacity(self.agents.len());
        (
            std::mem::replace(&mut self.hits, hits),
            std::mem::replace(&mut self.agents, agents),
        )
    }

    fn agent_of(&mut self, visit: &Visit<'_>) -> u32 {
        let ua = user_agent_of(visit);
        let host = referrer_host(visit.referer);
        let hash = HASHER.hash_one((ua, host));
        let agents = &self.agents;
        if let Some(&at) = self.index.find(hash, |&i| {
            let a = &agents[i as usize];
            a.user_agent.as_bytes() == ua && a.referrer.as_bytes() == host
        }) {
            return at;
        }
        let at = self.agents.len() as u32;
        self.agents.push(Agent {
            user_agent: String::from_utf8_lossy(ua).into(),
            referrer: String::from_utf8_lossy(host).to_ascii_lowercase().into(),
        });
        let agents = &self.agents;
        self.index.insert_unique(hash, at, |&i| {
            let a = &agents[i as usize];
            HASHER.hash_one((a.user_agent.as_bytes(), a.referrer.as_bytes()))
        });
        at
    }
}

/// Fixed keys: the same pair must hash the same in every thread's log.
static HASHER: ahash::RandomState = ahash::RandomState::with_seeds(1, 2, 3, 4);

/// The part of a visit's user agent that is kept and matched: at most
/// [`MAX_USER_AGENT`] bytes, so a huge header costs no more than a real one.
pub fn user_agent_of<'a>(visit: &Visit<'a>) -> &'a [u8] {
    &visit.user_agent[..visit.user_agent.len().min(MAX_USER_AGENT)]
}

/// The host of a `Referer` value: after `scheme://` and any user info, up
/// to a port, path, query or fragment. Empty when there is none, or when
/// it is not a plausible DNS name or address.
pub fn referrer_host(referer: &[u8]) -> &[u8] {
    let Some(start) = referer.windows(3).position(|w| w == b"://") else {
        return b"";
    };
    let rest = &referer[start + 3..];
    let end = rest
        .iter()
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = match authority.iter().rposition(|&b| b == b'@') {
        Some(at) => &authority[at + 1..],
        None => authority,
    };
    let host = if host.first() == Some(&b'[') {
        // An IPv6 literal keeps its brackets and drops the port after them.
        match host.iter().position(|&b| b == b']') {
            Some(close) => &host[..=close],
            None => b"",
        }
    } else {
        match host.iter().position(|&b| b == b':') {
            Some(colon) => &host[..colon],
            None => host,
        }
    };
    let plausible = host
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'[' | b']' | b':'));
    if host.is_empty() || host.len() > MAX_HOST || !plausible {
        b""
    } else {
        host
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visit<'a>(ua: &'a str, referer: &'a str) -> Visit<'a> {
        Visit {
            user_agent: ua.as_bytes(),
            referer: referer.as_bytes(),
            ip: "192.0.2.1".parse().expect("ip"),
            head: false,
        }
    }

    #[test]
    fn referrer_hosts_drop_everything_but_the_host() {
        for (referer, host) in [
            ("https://news.example.com/a/b?c=d#e", "news.example.com"),
            ("http://user:pw@Example.COM:8080/x", "Example.COM"),
            ("https://[2001:db8::1]:443/p", "[2001:db8::1]"),
            ("android-app://com.slack/", "com.slack"),
            ("https://", ""),
            ("not a url", ""),
            ("https://bad host/", ""),
            ("", ""),
        ] {
            assert_eq!(
                referrer_host(referer.as_bytes()),
                host.as_bytes(),
                "{referer}"
            );
        }
        let long = format!("https://{}.com/", "a".repeat(300));
        assert_eq!(referrer_host(long.as_bytes()), b"");
    }

    #[test]
    fn each_distinct_agent_is_kept_once() {
        let mut log = VisitLog::default();
        log.push(1, 10, &visit("Firefox", "https://a.example/x"), false);
        log.push(2, 10, &visit("Firefox", "https://a.example/y"), false);
        log.push(2, 11, &visit("Firefox", "https://B.example/"), false);
        log.push(3, 11, &visit("Chrome", ""), true);
        assert_eq!(log.agents.len(), 3);
        assert_eq!(
            log.hits.iter().map(|h| h.agent).collect::<Vec<_>>(),
            [0, 0, 1, 2]
        );
        assert_eq!(&*log.agents[1].referrer, "b.example");
        assert!(log.hits[3].counted);
        let (hits, agents) = log.take();
        assert_eq!((hits.len(), agents.len()), (4, 3));
        log.push(1, 10, &visit("Chrome", ""), false);
        assert_eq!(log.hits[0].agent, 0);
    }

    #[test]
    fn long_user_agents_are_cut_and_bad_bytes_kept_safely() {
        let mut log = VisitLog::default();
        let long = "x".repeat(MAX_USER_AGENT * 4);
        log.push(1, 1, &visit(&long, ""), false);
        assert_eq!(log.agents[0].user_agent.len(), MAX_USER_AGENT);
        let bad = Visit {
            user_agent: b"\xff\xfeBot",
            ..visit("", "")
        };
        log.push(1, 1, &bad, false);
        assert!(log.agents[1].user_agent.ends_with("Bot"));
    }

    #[test]
    fn a_log_is_full_at_its_caps() {
        let mut log = VisitLog::default();
        for i in 0..MAX_AGENTS {
            assert!(!log.is_full());
            log.push(1, 1, &visit(&i.to_string(), ""), false);
        }
        assert!(log.is_full());
    }
}
