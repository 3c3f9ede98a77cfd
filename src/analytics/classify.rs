//! What a user agent is: a bot or not (the `isbot` package's patterns,
//! vendored in `data/isbot-patterns.json`, plus link-preview fetchers), and
//! its browser, OS and device (uap-core's regexes, `data/uap-regexes.yaml`,
//! through the `uaparser` crate). Both data files are refreshed by
//! `scripts/refresh-ua-data`.
//!
//! Matching is slow next to a redirect (hundreds of regexes), so answers
//! are cached per distinct user agent and computed off the serving threads:
//! by the flusher, or for a capped link's bot check on a blocking thread.

use std::sync::{Arc, OnceLock};

use fancy_regex::Regex;
use quick_cache::sync::Cache;
use uaparser::{Parser, UserAgentParser};

/// Distinct user agents whose answers are kept.
const CACHED_AGENTS: usize = 20_000;

/// Link-preview fetchers of chat and social apps, matched as lower-case
/// substrings. `isbot` knows most of them; the list keeps this promise
/// even if a refresh of its data dropped one.
const PREVIEW_FETCHERS: [&str; 14] = [
    "slackbot",
    "slack-imgproxy",
    "whatsapp",
    "telegrambot",
    "discordbot",
    "facebookexternalhit",
    "facebookcatalog",
    "meta-externalagent",
    "twitterbot",
    "linkedinbot",
    "skypeuripreview",
    "iframely",
    "embedly",
    "redditbot",
];

/// A device class, as the stats report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeviceKind {
    Desktop,
    Mobile,
    Tablet,
    Bot,
}

impl DeviceKind {
    /// The name the stats use.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Desktop => "desktop",
            DeviceKind::Mobile => "mobile",
            DeviceKind::Tablet => "tablet",
            DeviceKind::Bot => "bot",
        }
    }
}

/// Everything the stats keep of a user agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentInfo {
    pub bot: bool,
    pub browser: String,
    pub os: String,
    pub device: DeviceKind,
}

/// The bot matcher: one expression made of every pattern.
struct BotPatterns(Regex);

#[derive(serde::Deserialize)]
struct IsbotData {
    patterns: Vec<String>,
}

impl BotPatterns {
    fn load() -> BotPatterns {
        let data: IsbotData = serde_json::from_str(include_str!("../../data/isbot-patterns.json"))
            .expect("data/isbot-patterns.json is valid (checked by tests)");
        let joined = data
            .patterns
            .iter()
            .map(|p| format!("(?:{})", from_javascript(p)))
            .collect::<Vec<_>>()
            .join("|");
        let regex = fancy_regex::RegexBuilder::new(&format!("(?i){joined}"))
            .backtrack_limit(100_000)
            .build()
            .expect("the isbot patterns compile (checked by tests)");
        BotPatterns(regex)
    }

    fn matches(&self, user_agent: &str) -> bool {
        if user_agent.is_empty() {
            return false;
        }
        let lower = user_agent.to_ascii_lowercase();
        // A pattern that gives up (backtracking limit) counts as no match.
        PREVIEW_FETCHERS.iter().any(|p| lower.contains(p))
            || self.0.is_match(user_agent).unwrap_or(false)
    }
}

/// A JavaScript pattern in the syntax of Rust's regex crates: JavaScript
/// takes a `-` next to a class escape (`[\\w-.]`) literally, Rust wants it
/// escaped.
fn from_javascript(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let (mut in_class, mut escaped, mut after_class_escape) = (false, false, false);
    for c in pattern.chars() {
        if escaped {
            escaped = false;
            after_class_escape = in_class && "wWdDsS".contains(c);
            out.push(c);
            continue;
        }
        match c {
            '\\' => escaped = true,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '-' if in_class && after_class_escape => out.push('\\'),
            _ => {}
        }
        if c != '\\' {
            after_class_escape = false;
        }
        out.push(c);
    }
    out
}

fn bot_patterns() -> &'static BotPatterns {
    static PATTERNS: OnceLock<BotPatterns> = OnceLock::new();
    PATTERNS.get_or_init(BotPatterns::load)
}

fn parser() -> &'static UserAgentParser {
    static PARSER: OnceLock<UserAgentParser> = OnceLock::new();
    PARSER.get_or_init(|| {
        UserAgentParser::builder()
            .with_unicode_support(false)
            .build_from_bytes(include_bytes!("../../data/uap-regexes.yaml"))
            .expect("data/uap-regexes.yaml is valid (checked by tests)")
    })
}

/// Operating systems of phones and tablets, by uap-core's names.
const HANDHELD_OS: [&str; 9] = [
    "iOS",
    "iPadOS",
    "Android",
    "Windows Phone",
    "BlackBerry OS",
    "KaiOS",
    "Firefox OS",
    "Symbian OS",
    "HarmonyOS",
];

/// Cached answers per user agent; one per process.
pub struct Classifier {
    bots: Cache<Box<str>, bool>,
    agents: Cache<Box<str>, Arc<AgentInfo>>,
}

impl Default for Classifier {
    fn default() -> Self {
        Classifier {
            bots: Cache::new(CACHED_AGENTS),
            agents: Cache::new(CACHED_AGENTS),
        }
    }
}

impl Classifier {
    /// Compiles both matchers now, so the first request does not wait.
    pub fn warm_up() {
        bot_patterns();
        parser();
    }

    /// The cached bot verdict, if this user agent was seen lately.
    pub fn cached_bot(&self, user_agent: &str) -> Option<bool> {
        self.bots.get(user_agent)
    }

    /// Whether a user agent is a bot or preview fetcher (slow on a miss).
    pub fn is_bot(&self, user_agent: &str) -> bool {
        if let Some(bot) = self.bots.get(user_agent) {
            return bot;
        }
        let bot = bot_patterns().matches(user_agent);
        self.bots.insert(user_agent.into(), bot);
        bot
    }

    /// Browser, OS, device and bot verdict (slow on a miss).
    pub fn agent(&self, user_agent: &str) -> Arc<AgentInfo> {
        if let Some(info) = self.agents.get(user_agent) {
            return info;
        }
        let info = Arc::new(self.parse(user_agent));
        self.agents.insert(user_agent.into(), Arc::clone(&info));
        info
    }

    fn parse(&self, user_agent: &str) -> AgentInfo {
        let client = parser().parse(user_agent);
        let bot = self.is_bot(user_agent) || client.device.family == "Spider";
        let os = client.os.family.into_owned();
        let device = if bot {
            DeviceKind::Bot
        } else if client.device.family.contains("iPad")
            || client.device.family.contains("Tablet")
            || client.device.family.contains("Kindle")
            || (os == "Android" && !user_agent.contains("Mobile"))
        {
            DeviceKind::Tablet
        } else if HANDHELD_OS.contains(&os.as_str()) || user_agent.contains("Mobi") {
            DeviceKind::Mobile
        } else {
            DeviceKind::Desktop
        };
        AgentInfo {
            bot,
            browser: client.user_agent.family.into_owned(),
            os,
            device,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROME_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
    const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
    const SAFARI_IPAD: &str = "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1";
    const FIREFOX_LINUX: &str =
        "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";

    #[test]
    fn every_vendored_pattern_compiles_on_its_own() {
        let data: IsbotData =
            serde_json::from_str(include_str!("../../data/isbot-patterns.json")).expect("json");
        assert!(data.patterns.len() > 100);
        for p in &data.patterns {
            let p = from_javascript(p);
            assert!(Regex::new(&p).is_ok(), "{p}");
        }
        assert_eq!(from_javascript(r"[\w\d-.]+"), r"[\w\d\-.]+");
        assert_eq!(from_javascript(r"a-b[a-z]"), r"a-b[a-z]");
    }

    #[test]
    fn browsers_are_not_bots_and_get_their_names() {
        let c = Classifier::default();
        let chrome = c.agent(CHROME_WINDOWS);
        assert_eq!(
            (chrome.browser.as_str(), chrome.os.as_str()),
            ("Chrome", "Windows")
        );
        assert_eq!(chrome.device, DeviceKind::Desktop);
        assert!(!chrome.bot);
        let iphone = c.agent(SAFARI_IPHONE);
        assert_eq!(
            (iphone.browser.as_str(), iphone.os.as_str()),
            ("Mobile Safari", "iOS")
        );
        assert_eq!(iphone.device, DeviceKind::Mobile);
        assert_eq!(c.agent(SAFARI_IPAD).device, DeviceKind::Tablet);
        let firefox = c.agent(FIREFOX_LINUX);
        assert_eq!(
            (firefox.browser.as_str(), firefox.os.as_str()),
            ("Firefox", "Linux")
        );
        assert!(!c.is_bot(""));
    }

    #[test]
    fn crawlers_and_preview_fetchers_are_bots() {
        let c = Classifier::default();
        for ua in [
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            "WhatsApp/2.23.20.0 A",
            "TelegramBot (like TwitterBot)",
            "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
            "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            "Twitterbot/1.0",
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "curl/8.5.0",
            "python-requests/2.31.0",
        ] {
            assert!(c.is_bot(ua), "{ua}");
            let info = c.agent(ua);
            assert!(info.bot, "{ua}");
            assert_eq!(info.device, DeviceKind::Bot, "{ua}");
        }
        assert_eq!(c.cached_bot("Twitterbot/1.0"), Some(true));
        assert_eq!(c.cached_bot(CHROME_WINDOWS), None);
    }
}
