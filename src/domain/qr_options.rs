//! `QrOptions`: how `GET /{code}/qr` draws a short link's QR code.

/// Image format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QrFormat {
    Png,
    Svg,
}

/// Error-correction level: how much of the code may be damaged and still
/// read (about 7%, 15%, 25%, 30%).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QrEc {
    L,
    M,
    Q,
    H,
}

/// A colour as red, green, blue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rgb(pub [u8; 3]);

impl Rgb {
    /// `#rrggbb`, for SVG.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0[0], self.0[1], self.0[2])
    }
}

/// Smallest and largest image, in pixels.
pub const SIZES: std::ops::RangeInclusive<u32> = 50..=1000;
/// Largest quiet zone, in modules (the standard asks for 4).
pub const MAX_MARGIN: u32 = 10;

/// Checked QR parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct QrOptions {
    pub format: QrFormat,
    /// Width and height in pixels; a code that needs more pixels than this
    /// gets one per module.
    pub size: u32,
    /// Quiet zone around the code, in modules.
    pub margin: u32,
    pub ec: QrEc,
    pub fg: Rgb,
    pub bg: Rgb,
}

/// The raw query, as received.
#[derive(Clone, Debug, Default)]
pub struct RawQrOptions<'a> {
    pub format: Option<&'a str>,
    pub size: Option<i64>,
    pub margin: Option<i64>,
    pub ec: Option<&'a str>,
    pub fg: Option<&'a str>,
    pub bg: Option<&'a str>,
}

impl QrOptions {
    /// Checks every parameter; returns each bad one with its reason.
    pub fn parse(raw: &RawQrOptions<'_>) -> Result<QrOptions, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let format = match raw.format {
            None | Some("png") => QrFormat::Png,
            Some("svg") => QrFormat::Svg,
            Some(_) => {
                errors.push(("format", "format is png or svg".to_owned()));
                QrFormat::Png
            }
        };
        let size = match raw.size {
            None => 300,
            Some(s) if (i64::from(*SIZES.start())..=i64::from(*SIZES.end())).contains(&s) => {
                s as u32
            }
            Some(_) => {
                errors.push((
                    "size",
                    format!("size is {} to {} pixels", SIZES.start(), SIZES.end()),
                ));
                300
            }
        };
        let margin = match raw.margin {
            None => 4,
            Some(m) if (0..=i64::from(MAX_MARGIN)).contains(&m) => m as u32,
            Some(_) => {
                errors.push(("margin", format!("margin is 0 to {MAX_MARGIN} modules")));
                4
            }
        };
        let ec = match raw.ec {
            None | Some("m") => QrEc::M,
            Some("l") => QrEc::L,
            Some("q") => QrEc::Q,
            Some("h") => QrEc::H,
            Some(_) => {
                errors.push(("ec", "ec is l, m, q or h".to_owned()));
                QrEc::M
            }
        };
        let mut colour = |field: &'static str, value: Option<&str>, default: Rgb| match value {
            None => default,
            Some(v) => parse_colour(v).unwrap_or_else(|| {
                errors.push((field, format!("{field} is a colour as rrggbb or rgb (hex)")));
                default
            }),
        };
        let fg = colour("fg", raw.fg, Rgb([0, 0, 0]));
        let bg = colour("bg", raw.bg, Rgb([255, 255, 255]));
        if errors.is_empty() {
            Ok(QrOptions {
                format,
                size,
                margin,
                ec,
                fg,
                bg,
            })
        } else {
            Err(errors)
        }
    }
}

/// `rrggbb` or `rgb` in hex, with or without a leading `#`.
fn parse_colour(raw: &str) -> Option<Rgb> {
    let hex = raw.strip_prefix('#').unwrap_or(raw);
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let digit = |i: usize| u8::from_str_radix(&hex[i..=i], 16).ok();
    match hex.len() {
        6 => Some(Rgb([
            u8::from_str_radix(&hex[0..2], 16).ok()?,
            u8::from_str_radix(&hex[2..4], 16).ok()?,
            u8::from_str_radix(&hex[4..6], 16).ok()?,
        ])),
        3 => Some(Rgb([digit(0)? * 17, digit(1)? * 17, digit(2)? * 17])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_good_values() {
        let o = QrOptions::parse(&RawQrOptions::default()).unwrap();
        assert_eq!(
            (o.format, o.size, o.margin, o.ec),
            (QrFormat::Png, 300, 4, QrEc::M)
        );
        let raw = RawQrOptions {
            format: Some("svg"),
            size: Some(50),
            margin: Some(0),
            ec: Some("h"),
            fg: Some("#1a2B3c"),
            bg: Some("fff"),
        };
        let o = QrOptions::parse(&raw).unwrap();
        assert_eq!((o.format, o.size, o.ec), (QrFormat::Svg, 50, QrEc::H));
        assert_eq!(
            (o.fg, o.bg),
            (Rgb([0x1a, 0x2b, 0x3c]), Rgb([255, 255, 255]))
        );
        assert_eq!(o.fg.hex(), "#1a2b3c");
    }

    #[test]
    fn every_bad_value_is_named() {
        let raw = RawQrOptions {
            format: Some("gif"),
            size: Some(49),
            margin: Some(11),
            ec: Some("x"),
            fg: Some("#12345"),
            bg: Some("red"),
        };
        let fields: Vec<&str> = QrOptions::parse(&raw)
            .unwrap_err()
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(fields, ["format", "size", "margin", "ec", "fg", "bg"]);
        for size in [1001, -1, i64::MAX, i64::MIN] {
            let raw = RawQrOptions {
                size: Some(size),
                ..RawQrOptions::default()
            };
            assert!(QrOptions::parse(&raw).is_err(), "{size}");
        }
        for bad in ["", "#", "ggg", "12345678", "#ffff", "é12"] {
            assert_eq!(parse_colour(bad), None, "{bad}");
        }
    }
}
