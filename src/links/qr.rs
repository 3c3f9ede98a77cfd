//! QR codes of short links, as PNG or SVG, drawn from the `qrcode` crate's
//! module matrix.

use qrcode::{Color, EcLevel, QrCode};

use crate::domain::qr_options::{QrEc, QrFormat, QrOptions, Rgb};

/// A rendered QR code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QrImage {
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// The QR code of `text` drawn as `options` ask. Fails only for text too
/// long for a QR code, which a short URL never is.
pub fn render(text: &str, options: &QrOptions) -> Result<QrImage, String> {
    let level = match options.ec {
        QrEc::L => EcLevel::L,
        QrEc::M => EcLevel::M,
        QrEc::Q => EcLevel::Q,
        QrEc::H => EcLevel::H,
    };
    let code = QrCode::with_error_correction_level(text.as_bytes(), level)
        .map_err(|e| format!("cannot encode as a QR code: {e}"))?;
    let grid = Grid {
        width: code.width(),
        dark: code
            .to_colors()
            .into_iter()
            .map(|c| c == Color::Dark)
            .collect(),
        margin: options.margin as usize,
    };
    Ok(match options.format {
        QrFormat::Svg => QrImage {
            content_type: "image/svg+xml",
            body: svg(&grid, options).into_bytes(),
        },
        QrFormat::Png => QrImage {
            content_type: "image/png",
            body: png(&grid, options)?,
        },
    })
}

/// The modules, and the quiet zone around them, in modules.
struct Grid {
    width: usize,
    dark: Vec<bool>,
    margin: usize,
}

impl Grid {
    /// Modules across, quiet zone included.
    fn total(&self) -> usize {
        self.width + 2 * self.margin
    }

    fn is_dark(&self, x: usize, y: usize) -> bool {
        let (x, y) = (x.wrapping_sub(self.margin), y.wrapping_sub(self.margin));
        x < self.width && y < self.width && self.dark[y * self.width + x]
    }
}

/// The side of the image: `size`, or one pixel per module if more.
fn side(grid: &Grid, options: &QrOptions) -> usize {
    (options.size as usize).max(grid.total())
}

fn svg(grid: &Grid, options: &QrOptions) -> String {
    let (total, side) = (grid.total(), side(grid, options));
    let mut path = String::with_capacity(grid.dark.len() * 4);
    for y in 0..total {
        for x in 0..total {
            if grid.is_dark(x, y) {
                path.push_str(&format!("M{x} {y}h1v1h-1z"));
            }
        }
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{side}\" height=\"{side}\" \
         viewBox=\"0 0 {total} {total}\" shape-rendering=\"crispEdges\">\
         <rect width=\"{total}\" height=\"{total}\" fill=\"{}\"/>\
         <path fill=\"{}\" d=\"{path}\"/></svg>",
        options.bg.hex(),
        options.fg.hex()
    )
}

fn png(grid: &Grid, options: &QrOptions) -> Result<Vec<u8>, String> {
    let (total, side) = (grid.total(), side(grid, options));
    // Whole pixels per module; what is left over widens the quiet zone.
    let scale = side / total;
    let offset = (side - scale * total) / 2;
    let mut pixels = Vec::with_capacity(side * side * 3);
    for py in 0..side {
        for px in 0..side {
            let module = |p: usize| p.checked_sub(offset).map(|p| p / scale);
            let dark = match (module(px), module(py)) {
                (Some(x), Some(y)) => grid.is_dark(x, y),
                _ => false,
            };
            let Rgb(colour) = if dark { options.fg } else { options.bg };
            pixels.extend_from_slice(&colour);
        }
    }
    let mut body = Vec::new();
    let mut encoder = png::Encoder::new(&mut body, side as u32, side as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer
        .write_image_data(&pixels)
        .map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::qr_options::RawQrOptions;

    fn options(raw: RawQrOptions<'_>) -> QrOptions {
        QrOptions::parse(&raw).expect("options")
    }

    #[test]
    fn png_is_exactly_the_size_asked_or_one_pixel_a_module() {
        let text = "https://sho.rt/aZ3kQ9x";
        for (size, margin, ec) in [(300, 4, "m"), (50, 0, "l"), (50, 10, "h"), (1000, 2, "q")] {
            let o = options(RawQrOptions {
                size: Some(size),
                margin: Some(margin),
                ec: Some(ec),
                ..RawQrOptions::default()
            });
            let image = render(text, &o).expect("render");
            assert_eq!(image.content_type, "image/png");
            let decoder = png::Decoder::new(std::io::Cursor::new(image.body));
            let reader = decoder.read_info().expect("png");
            let (w, h) = (reader.info().width, reader.info().height);
            assert_eq!(w, h);
            assert!(w as i64 >= size, "{w} < {size}");
            assert!(w as i64 == size || w < 80, "grown only when needed: {w}");
        }
    }

    #[test]
    fn svg_has_the_colours_and_one_square_per_dark_module() {
        let o = options(RawQrOptions {
            format: Some("svg"),
            fg: Some("123"),
            bg: Some("fedcba"),
            ..RawQrOptions::default()
        });
        let image = render("https://sho.rt/x", &o).expect("render");
        let text = String::from_utf8(image.body).expect("utf-8");
        assert!(text.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"300\""));
        assert!(text.contains("fill=\"#112233\"") && text.contains("fill=\"#fedcba\""));
        let code = QrCode::with_error_correction_level(b"https://sho.rt/x", EcLevel::M).unwrap();
        let dark = code
            .to_colors()
            .iter()
            .filter(|c| **c == Color::Dark)
            .count();
        assert_eq!(text.matches('M').count(), dark);
    }
}
