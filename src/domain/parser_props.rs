//! Property tests for the three parsers that stand between the network and
//! the rest of the crate: [`TargetUrl::parse`], [`Alias::parse`] and
//! [`Code::parse`] / [`is_code`].
//!
//! Each parser gets arbitrary bytes (as lossy UTF-8) and arbitrary Unicode
//! and must not panic. Inputs shaped like the real thing are generated too,
//! so that a good share is accepted, and every accepted value is checked
//! for what the redirect path relies on: a target URL is short enough, is
//! printable ASCII, is `http`/`https`, parses again to itself, and reaches
//! the `Location` header byte for byte through [`Cached::from_record`]; an
//! alias or code is a clean path segment and header value.
//!
//! Case counts are kept modest so `cargo test --lib` stays quick; raise
//! them with `PROPTEST_CASES=100000` for a long local run.

use axum::http::{HeaderValue, Uri};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::ValueTree;
use proptest::test_runner::{TestCaseError, TestRunner};

use super::alias::{is_reserved, Alias, AliasError, RESERVED};
use super::code::{is_code, Code, MAX_CODE_LEN};
use super::own_host::OwnHost;
use super::target_url::{TargetUrl, UrlPolicy};
use crate::links::cache::Cached;
use crate::store::LinkRecord;

/// The policy every URL property runs under. Kept in this one function so a
/// change to `UrlPolicy`'s constructor is a one-line change here.
fn policy() -> UrlPolicy {
    UrlPolicy::new(
        2048,
        &url::Url::parse("https://sho.rt").unwrap(),
        vec!["evil.test".into()],
    )
}

/// `cases` cases, unless `PROPTEST_CASES` is set, which then wins: the
/// counts here are sized for a quick `cargo test`, and a long hunt should
/// not need an edit. (`ProptestConfig::with_cases` alone ignores it.)
fn config(cases: u32) -> ProptestConfig {
    if std::env::var_os("PROPTEST_CASES").is_some() {
        ProptestConfig::default()
    } else {
        ProptestConfig::with_cases(cases)
    }
}

/// The code alphabet, written out independently of `is_code_byte` so the
/// properties do not just repeat the parser's own definition.
fn in_alphabet(b: u8) -> bool {
    matches!(b, b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-')
}

/// Arbitrary bytes read as lossy UTF-8, as a request body or path would be
/// after a lenient decode: mostly replacement characters and raw ASCII.
fn lossy_bytes(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), 0..max)
        .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

/// Arbitrary Unicode text, newlines and controls included.
fn any_text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..max).prop_map(|chars| chars.into_iter().collect())
}

/// Checks everything the redirect path assumes about an accepted URL;
/// `raw` is the input, for the failure messages.
fn check_accepted_url(raw: &str, url: &TargetUrl) -> Result<(), TestCaseError> {
    let policy = policy();
    let s = url.as_str();
    prop_assert!(
        s.len() <= policy.max_len,
        "{raw:?} normalized to {} bytes, over the {}-byte limit",
        s.len(),
        policy.max_len
    );
    prop_assert!(
        s.bytes().all(|b| b.is_ascii_graphic()),
        "{raw:?} normalized to {s:?}, which has a byte that is not printable ASCII"
    );
    prop_assert!(
        !s.chars().any(|c| c.is_whitespace() || c.is_control()),
        "{raw:?} normalized to {s:?}, which has whitespace or a control character"
    );
    prop_assert!(
        HeaderValue::from_str(s).is_ok(),
        "{raw:?} normalized to {s:?}, which is not a valid header value"
    );
    prop_assert!(
        s.starts_with("http://") || s.starts_with("https://"),
        "{raw:?} normalized to {s:?}, whose scheme is not http or https"
    );

    // What the parser checked on the input must still hold of its output.
    let reparsed = url::Url::parse(s);
    prop_assert!(
        reparsed.is_ok(),
        "{raw:?} normalized to {s:?}, which url cannot parse"
    );
    let reparsed = reparsed.unwrap();
    prop_assert!(
        reparsed.username().is_empty() && reparsed.password().is_none(),
        "{raw:?} normalized to {s:?}, which has userinfo"
    );
    let host = reparsed
        .host_str()
        .unwrap_or("")
        .trim_end_matches('.')
        .to_ascii_lowercase();
    prop_assert!(
        host != "sho.rt",
        "{raw:?} normalized to {s:?}, a link to itself"
    );
    prop_assert!(
        !reparsed.host().is_some_and(|h| OwnHost::of(&h).is_local()),
        "{raw:?} normalized to {s:?}, a link to this machine"
    );
    prop_assert!(
        host != "evil.test" && !host.ends_with(".evil.test"),
        "{raw:?} normalized to {s:?}, a blocked host"
    );

    match TargetUrl::parse(s, &policy) {
        Ok(again) => prop_assert_eq!(
            again.as_str(),
            s,
            "{:?} normalized to {:?}, which normalizes again to something else",
            raw,
            s
        ),
        Err(e) => prop_assert!(
            false,
            "{raw:?} normalized to {s:?}, which is then refused: {e}"
        ),
    }

    let record = LinkRecord {
        id: 1,
        code: "abc".into(),
        url: s.to_owned(),
        created_at: 0,
        expires_at: None,
        max_clicks: None,
        clicks: 0,
        redirect_status: 302,
        deleted_at: None,
        owner: None,
        tags: Vec::new(),
        password_hash: None,
    };
    match Cached::from_record(Some(&record)) {
        Cached::Live(target) => prop_assert_eq!(
            target.location.as_bytes(),
            s.as_bytes(),
            "the Location header for {:?} differs from the stored URL",
            s
        ),
        other => prop_assert!(
            false,
            "{raw:?} normalized to {s:?}, but the cache builds {other:?}, not a live link"
        ),
    }
    Ok(())
}

/// Parses `raw` and, if it is accepted, checks the result.
fn check_url(raw: &str) -> Result<(), TestCaseError> {
    match TargetUrl::parse(raw, &policy()) {
        Ok(url) => check_accepted_url(raw, &url),
        Err(_) => Ok(()),
    }
}

/// One character for the variable parts of a URL: mostly printable ASCII
/// (`%`, `#`, `?`, `/`, `\`, `@`, `[` among them), some Unicode that needs
/// percent-encoding, and now and then whitespace or a control character,
/// which must get the input refused.
fn url_char() -> impl Strategy<Value = char> {
    prop_oneof![
        40 => prop::char::range('!', '~'),
        6 => select(vec!['é', 'ß', '日', '😀', 'Ω', '\u{fffd}', '\u{200b}', '\u{feff}', '\u{301}']),
        1 => any::<char>(),
        1 => select(vec![' ', '\t', '\n', '\r', '\0', '\u{7f}', '\u{85}', '\u{a0}', '\u{2028}', '\u{3000}']),
    ]
}

/// A path, query or fragment body: single characters mixed with
/// percent-escapes (valid and broken) and dot segments.
fn url_tail() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        20 => url_char().prop_map(String::from),
        3 => "%[0-9a-fA-F]{2}",
        1 => "%[g-zG-Z%]?",
        2 => select(vec!["/", "./", "../", "%2e%2E/", "//", "\\", "?", "#", "&a=b", "%00", "%0A", "%20"])
            .prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..10).prop_map(|pieces| pieces.concat())
}

/// Now and then a long run for the path, to push the URL across the
/// 2,048-byte limit either as written or only once percent-encoded.
fn padding() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => Just(String::new()),
        1 => (1900usize..2100).prop_map(|n| "a".repeat(n)),
        1 => (300usize..400).prop_map(|n| "é".repeat(n)),
    ]
}

/// A host as people (and attackers) write them: DNS names in any case,
/// IDN and confusable Unicode, punycode, IPv4 in dotted, hex and integer
/// forms, IPv6 in and out of brackets, this service's own host and blocked
/// hosts in disguise, percent-encoded names, and plain junk.
fn url_host() -> impl Strategy<Value = String> {
    let label = "[a-zA-Z0-9]([a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?";
    prop_oneof![
        6 => (prop::collection::vec(label, 1..4), "(com|org|de|io|test|COM)", any::<bool>())
            .prop_map(|(labels, tld, dot)| {
                format!("{}.{tld}{}", labels.join("."), if dot { "." } else { "" })
            }),
        3 => (
            select(vec!["bücher", "münchen", "例え", "пример", "ÉXAMPLE", "ｅｘａｍｐｌｅ", "straße", "ａ\u{200b}b", "xn--bcher-kva", "xn--", "xn--zz-", "-a-", "a\u{301}"]),
            select(vec!["de", "com", "テスト", "рф", "xn--p1ai", "ｃｏｍ"]),
        )
            .prop_map(|(name, tld)| format!("{name}.{tld}")),
        2 => any::<[u8; 4]>().prop_map(|[a, b, c, d]| format!("{a}.{b}.{c}.{d}")),
        1 => select(vec!["0x7f.1", "0177.0.0.1", "2130706433", "127.1", "1.2.3", "256.1.1.1", "0x100000000", "1.2.3.4.5", "1.2.3.04"])
            .prop_map(String::from),
        2 => any::<[u16; 8]>().prop_map(|parts| {
            format!("[{}]", std::net::Ipv6Addr::from(parts))
        }),
        1 => select(vec!["[::1]", "[::ffff:127.0.0.1]", "[::]", "::1", "[::1", "[fe80::1%25eth0]", "[v1.x]", "[1:2:3:4:5:6:7:8:9]", "[]", "[0:0::0:0:0:0:0:1]"])
            .prop_map(String::from),
        2 => select(vec!["sho.rt", "SHO.RT", "sho.rt.", "sho.rt..", "ｓｈｏ.ｒｔ", "sho%2Ert", "www.sho.rt", "evil.test", "EVIL.TEST.", "a.evil.test", "evil%2etest", "ｅｖｉｌ.test", "notevil.test", "evil.test.example", ".", "..", "%2e", "\u{3002}"])
            .prop_map(String::from),
        1 => "%[0-9a-fA-F]{2}[a-z]{1,5}\\.com",
        1 => prop::collection::vec(url_char(), 0..12).prop_map(|c| c.into_iter().collect()),
    ]
}

/// A whole URL-shaped input: scheme, separator, optional userinfo, host,
/// optional port, then path, query and fragment. Most parts are well
/// formed, so a good share of these is accepted and the accepted-URL
/// checks get real work.
fn url_shaped() -> impl Strategy<Value = String> {
    let scheme = prop_oneof![
        4 => Just("https"),
        3 => Just("http"),
        1 => Just("HTTP"),
        1 => Just("HtTpS"),
        1 => Just("ftp"),
        1 => Just("javascript"),
    ];
    let separator = prop_oneof![
        12 => Just("://"),
        1 => Just(":"),
        1 => Just(":/"),
        1 => Just(":///"),
        1 => Just(":\\\\"),
    ];
    let userinfo = prop_oneof![
        10 => Just(String::new()),
        1 => select(vec!["@", "user@", "user:pw@", ":pw@", ":@", "us%40er@", "a@b@", "sho.rt@"])
            .prop_map(String::from),
    ];
    let port = prop_oneof![
        6 => Just(String::new()),
        3 => any::<u16>().prop_map(|p| format!(":{p}")),
        1 => select(vec![":", ":80", ":443", ":65536", ":99999999", ":0x50", ":-1", ": 80"])
            .prop_map(String::from),
    ];
    let path = prop_oneof![
        1 => Just(String::new()),
        6 => (url_tail(), padding()).prop_map(|(t, pad)| format!("/{pad}{t}")),
        1 => url_tail(),
    ];
    let query = prop::option::weighted(0.4, url_tail().prop_map(|t| format!("?{t}")));
    let fragment = prop::option::weighted(0.3, url_tail().prop_map(|t| format!("#{t}")));
    (
        scheme,
        separator,
        userinfo,
        url_host(),
        port,
        path,
        query,
        fragment,
    )
        .prop_map(|(scheme, sep, user, host, port, path, query, fragment)| {
            format!(
                "{scheme}{sep}{user}{host}{port}{path}{}{}",
                query.unwrap_or_default(),
                fragment.unwrap_or_default()
            )
        })
}

/// Something that looks like a code or alias: the code alphabet, from
/// empty to past the 64-byte limit.
fn code_shaped() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z0-9_-]{0,70}",
        1 => "[A-Za-z0-9_-]{60,70}",
    ]
}

/// A code-shaped string with one character outside the alphabet spliced in.
fn code_with_stray_char() -> impl Strategy<Value = String> {
    (
        "[A-Za-z0-9_-]{0,64}",
        any::<char>(),
        any::<prop::sample::Index>(),
    )
        .prop_filter(
            "the spliced character must be outside the alphabet",
            |(_, c, _)| !(c.is_ascii() && in_alphabet(*c as u8)),
        )
        .prop_map(|(s, c, at)| {
            let at = at.index(s.len() + 1);
            format!("{}{c}{}", &s[..at], &s[at..])
        })
}

/// A reserved word with each letter's case chosen at random.
fn reserved_any_case() -> impl Strategy<Value = String> {
    (select(RESERVED), any::<u64>()).prop_map(|(word, mask)| {
        word.chars()
            .enumerate()
            .map(|(i, c)| {
                if mask >> (i % 64) & 1 == 1 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect()
    })
}

/// Checks that an accepted code or alias can be put in a path and a header
/// exactly as it is.
fn check_path_segment(what: &str, s: &str) -> Result<(), TestCaseError> {
    let path = format!("/{s}");
    match path.parse::<Uri>() {
        Ok(uri) => {
            prop_assert_eq!(uri.path(), path.as_str(), "{} {:?}: path changed", what, s);
            prop_assert!(uri.query().is_none(), "{what} {s:?} grew a query");
        }
        Err(e) => prop_assert!(false, "{what} {s:?}: /{s} is not a valid URI: {e}"),
    }
    prop_assert!(
        HeaderValue::from_str(s).is_ok() && HeaderValue::from_str(&path).is_ok(),
        "{what} {s:?} is not a valid header value"
    );
    Ok(())
}

/// Checks an input against the alias rules, written out independently:
/// accepted exactly when it is 3 to 64 alphabet characters and not reserved.
fn check_alias(raw: &str) -> Result<(), TestCaseError> {
    let well_formed = (3..=64).contains(&raw.len()) && raw.bytes().all(in_alphabet);
    let expected = well_formed && !is_reserved(raw);
    match Alias::parse(raw) {
        Ok(alias) => {
            let s = alias.as_str();
            prop_assert!(expected, "{raw:?} accepted as an alias");
            prop_assert_eq!(s, raw, "alias changed on the way through");
            prop_assert!((3..=64).contains(&s.chars().count()));
            prop_assert!(s.bytes().all(in_alphabet));
            prop_assert!(!is_reserved(s), "reserved {s:?} accepted");
            prop_assert_eq!(
                Code::parse(s),
                Some(alias.clone().into_code()),
                "Code::parse disagrees with the alias {:?}",
                s
            );
            check_path_segment("alias", s)?;
        }
        Err(e) => {
            prop_assert!(!expected, "{raw:?} refused as an alias: {e}");
            if well_formed {
                prop_assert_eq!(e, AliasError::Reserved(raw.to_owned()));
            }
        }
    }
    Ok(())
}

/// Checks an input against the code rules, written out independently:
/// accepted exactly when it is 1 to 64 alphabet bytes.
fn check_code(raw: &str) -> Result<(), TestCaseError> {
    let expected = !raw.is_empty() && raw.len() <= MAX_CODE_LEN && raw.bytes().all(in_alphabet);
    let parsed = Code::parse(raw);
    prop_assert_eq!(
        is_code(raw),
        parsed.is_some(),
        "is_code and Code::parse disagree on {:?}",
        raw
    );
    prop_assert_eq!(parsed.is_some(), expected, "wrong verdict on {:?}", raw);
    if raw.len() > MAX_CODE_LEN || raw.bytes().any(|b| !in_alphabet(b)) {
        prop_assert!(parsed.is_none(), "{raw:?} accepted as a code");
    }
    if let Some(code) = parsed {
        prop_assert_eq!(code.as_str(), raw);
        check_path_segment("code", code.as_str())?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn url_parser_survives_arbitrary_bytes(raw in lossy_bytes(300)) {
        check_url(&raw)?;
    }

    #[test]
    fn url_parser_survives_arbitrary_text(raw in any_text(300)) {
        check_url(&raw)?;
    }

    #[test]
    fn url_parser_survives_garbage_after_a_scheme(
        scheme in select(vec!["http://", "https://", "HTTPS://"]),
        rest in prop_oneof![lossy_bytes(200), any_text(200)],
    ) {
        check_url(&format!("{scheme}{rest}"))?;
    }
}

proptest! {
    #![proptest_config(config(2048))]

    #[test]
    fn accepted_urls_are_valid_location_headers(raw in url_shaped()) {
        check_url(&raw)?;
    }

    #[test]
    fn whitespace_or_control_anywhere_is_refused(
        raw in url_shaped(),
        bad in select(vec![' ', '\t', '\n', '\r', '\0', '\u{1b}', '\u{7f}', '\u{85}', '\u{a0}', '\u{2028}', '\u{3000}']),
        at in any::<prop::sample::Index>(),
    ) {
        let boundaries: Vec<usize> = raw.char_indices().map(|(i, _)| i).chain([raw.len()]).collect();
        let at = boundaries[at.index(boundaries.len())];
        let spoiled = format!("{}{bad}{}", &raw[..at], &raw[at..]);
        prop_assert!(
            TargetUrl::parse(&spoiled, &policy()).is_err(),
            "{spoiled:?} accepted despite {bad:?}"
        );
    }
}

proptest! {
    #![proptest_config(config(2048))]

    /// A host of dots alone is empty once the root dot is trimmed, and
    /// must be refused like no host at all.
    #[test]
    fn accepted_urls_have_a_host_name(raw in url_shaped()) {
        if let Ok(url) = TargetUrl::parse(&raw, &policy()) {
            let s = url.as_str();
            let host = url::Url::parse(s)
                .ok()
                .and_then(|u| u.host_str().map(|h| h.trim_end_matches('.').to_owned()))
                .unwrap_or_default();
            prop_assert!(
                !host.is_empty(),
                "{raw:?} normalized to {s:?}, whose host is empty once the root dot is trimmed"
            );
        }
    }
}

/// The URL generator is only useful if many of its inputs get through
/// the parser; this fails if a change to it (or to the parser) makes
/// acceptance rare, which would leave the accepted-URL checks idle.
#[test]
fn url_generator_reaches_acceptance() {
    let mut runner = TestRunner::deterministic();
    let strategy = url_shaped();
    let policy = policy();
    let total = 2000;
    let accepted = (0..total)
        .filter(|_| {
            let raw = strategy.new_tree(&mut runner).unwrap().current();
            TargetUrl::parse(&raw, &policy).is_ok()
        })
        .count();
    assert!(
        accepted * 4 >= total,
        "only {accepted} of {total} generated URLs were accepted"
    );
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn alias_parser_survives_arbitrary_bytes(raw in lossy_bytes(100)) {
        check_alias(&raw)?;
    }

    #[test]
    fn alias_parser_survives_arbitrary_text(raw in any_text(100)) {
        check_alias(&raw)?;
    }

    #[test]
    fn alias_shaped_inputs_follow_the_rules(raw in code_shaped()) {
        check_alias(&raw)?;
    }

    #[test]
    fn alias_with_a_stray_character_is_refused(raw in code_with_stray_char()) {
        check_alias(&raw)?;
        prop_assert!(Alias::parse(&raw).is_err());
    }

    #[test]
    fn reserved_words_are_refused_in_any_case(raw in reserved_any_case()) {
        check_alias(&raw)?;
        prop_assert!(Alias::parse(&raw).is_err(), "reserved {raw:?} accepted");
    }

    #[test]
    fn code_parser_survives_arbitrary_bytes(raw in lossy_bytes(100)) {
        check_code(&raw)?;
    }

    #[test]
    fn code_parser_survives_arbitrary_text(raw in any_text(100)) {
        check_code(&raw)?;
    }

    #[test]
    fn code_shaped_inputs_follow_the_rules(raw in code_shaped()) {
        check_code(&raw)?;
    }

    #[test]
    fn code_with_a_stray_character_is_refused(raw in code_with_stray_char()) {
        check_code(&raw)?;
        prop_assert!(Code::parse(&raw).is_none(), "{raw:?} accepted as a code");
    }
}
