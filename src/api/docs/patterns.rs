//! Regular expressions for the document: the URLs, cursors and codes the
//! server accepts, as JSON Schema patterns.

/// `http` or `https`, in any case, and the `//` of an authority.
pub(super) const URL_SCHEME: &str = "[Hh][Tt][Tt][Pp][Ss]?://";

/// Any number of domain labels, each followed by a dot: what may precede
/// `localhost` in a name under it.
pub(super) const LABELS: &str = "(?:[A-Za-z0-9!\"$&'()*+,;=_`{}~-]*\\.)*";

/// The URLs the server accepts and stores as sent, apart from lower-casing
/// the scheme and host, dropping a default port and adding `/` to an empty
/// path (so their stored length is known): `http` or `https`, then a host
/// that URL parsing (WHATWG) takes as a domain name, i.e. labels of
/// printable ASCII but `` #%/:<>?@[\]^|`` whose last one is not a number
/// (all digits, or `0x` and hex digits: an IPv4 address, refused when out
/// of range), an optional port, and a path, query and fragment of RFC 3986
/// characters, without `'` in the query (which is percent-encoded).
pub(super) const URL_PATTERN: &str = concat!(
    "^[Hh][Tt][Tt][Pp][Ss]?://",
    // labels but the last
    "(?:[A-Za-z0-9!\"$&'()*+,;=_`{}~-]*\\.)*",
    // the last label: a non-digit first, after digits other than a lone
    // `0`, after `0` if not `x`, or after `0x` and hex digits if not hex
    "(?:[A-Za-z!\"$&'()*+,;=_`{}~-]",
    "|(?:[1-9][0-9]*|0[0-9]+)[A-Za-z!\"$&'()*+,;=_`{}~-]",
    "|0[A-WYZa-wyz!\"$&'()*+,;=_`{}~-]",
    "|0[xX][0-9A-Fa-f]*[G-Zg-z!\"$&'()*+,;=_`{}~-])",
    "[A-Za-z0-9!\"$&'()*+,;=_`{}~-]*\\.?",
    "(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?",
    // path, query and fragment: RFC 3986 characters, which the server keeps
    // as they are, except `'` in a query, which it percent-encodes
    "(?:/[A-Za-z0-9._~:/\\[\\]@!$&'()*+,;=%-]*)?",
    "(?:\\?[A-Za-z0-9._~:/?\\[\\]@!$&()*+,;=%-]*)?",
    "(?:#[A-Za-z0-9._~:/?#\\[\\]@!$&'()*+,;=%-]*)?$",
);

/// A URL with an empty path, which gains a `/` when normalized.
pub(super) const PATHLESS_URL: &str = "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]*(?:[?#]|$)";

/// The cursors `GET /api/v1/links` hands out: `v1:` and the decimal id of
/// the last link of the page, base64url without padding. Each group of
/// three digits is four characters, a trailing one or two digits are two
/// or three; ids have at most 18 digits.
pub(super) const CURSOR_PATTERN: &str = concat!(
    "^djE6(?:",
    "(?:(?:[MN][DTjz]|O[DT])[AEIMQUYcgk][w-z0-5]){1,6}",
    "|(?:(?:[MN][DTjz]|O[DT])[AEIMQUYcgk][w-z0-5]){0,5}",
    "(?:[MN][AQgw]|O[AQ]|(?:[MN][DTjz]|O[DT])[AEIMQUYcgk])",
    ")$",
);
