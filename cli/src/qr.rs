//! QR codes in and out: terminal rendering and PNG files with `qrcode`,
//! decoding of PNG images (a photo or screenshot of a session QR) with
//! `rqrr`.

use std::path::Path;

use image::{GrayImage, ImageReader, Luma};
use qrcode::{Color, EcLevel, QrCode};

/// Pixels per QR module in PNG output, and the quiet zone in modules.
const PNG_SCALE: u32 = 8;
const QUIET: u32 = 4;
/// Largest image we decode (pixels per side): bounds memory and time.
const MAX_IMAGE_SIDE: u32 = 8192;

/// Why a QR code could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum QrError {
    #[error("too much data for a QR code ({0} bytes)")]
    TooLong(usize),
    #[error("cannot read image {0}: {1}")]
    Image(String, String),
    #[error("the image is larger than {MAX_IMAGE_SIDE} pixels per side")]
    ImageTooLarge,
    #[error("no readable QR code in {0}")]
    NotFound(String),
    #[error("cannot write {0}: {1}")]
    Write(String, String),
}

fn encode(text: &str) -> Result<QrCode, QrError> {
    // Medium error correction: survives a smudged screen, still fits a
    // presentation of a few credentials.
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .or_else(|_| QrCode::with_error_correction_level(text.as_bytes(), EcLevel::L))
        .map_err(|_| QrError::TooLong(text.len()))
}

/// Render `text` as a QR code with Unicode half blocks (two modules per
/// character cell vertically), dark modules drawn dark on a light terminal
/// background with a quiet zone.
pub fn terminal(text: &str) -> Result<String, QrError> {
    let code = encode(text)?;
    let width = code.width();
    let colors = code.to_colors();
    let quiet = QUIET as usize;
    let size = width + 2 * quiet;
    let dark = |x: usize, y: usize| -> bool {
        if x < quiet || y < quiet || x >= width + quiet || y >= width + quiet {
            return false;
        }
        colors[(y - quiet) * width + (x - quiet)] == Color::Dark
    };
    let mut out = String::with_capacity(size * size);
    for row in (0..size).step_by(2) {
        for x in 0..size {
            // Light modules are drawn as blocks, dark ones as blanks: on the
            // usual dark terminal background the code then reads correctly.
            let top = !dark(x, row);
            let bottom = row + 1 < size && !dark(x, row + 1);
            out.push(match (top, bottom) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push('\n');
    }
    Ok(out)
}

/// Write `text` as a PNG QR code.
pub fn write_png(text: &str, path: &Path) -> Result<(), QrError> {
    let code = encode(text)?;
    let width = u32::try_from(code.width()).map_err(|_| QrError::TooLong(text.len()))?;
    let colors = code.to_colors();
    let side = (width + 2 * QUIET) * PNG_SCALE;
    let img = GrayImage::from_fn(side, side, |px, py| {
        let (x, y) = (px / PNG_SCALE, py / PNG_SCALE);
        let inside = x >= QUIET && y >= QUIET && x < width + QUIET && y < width + QUIET;
        let is_dark = inside
            && colors
                .get(((y - QUIET) * width + (x - QUIET)) as usize)
                .is_some_and(|c| *c == Color::Dark);
        Luma([if is_dark { 0 } else { 255 }])
    });
    img.save(path)
        .map_err(|e| QrError::Write(path.display().to_string(), e.to_string()))
}

/// Decode the first QR code found in a PNG image.
pub fn decode_image(path: &Path) -> Result<String, QrError> {
    let name = path.display().to_string();
    let reader = ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| QrError::Image(name.clone(), e.to_string()))?;
    let (w, h) = reader
        .into_dimensions()
        .map_err(|e| QrError::Image(name.clone(), e.to_string()))?;
    if w > MAX_IMAGE_SIDE || h > MAX_IMAGE_SIDE {
        return Err(QrError::ImageTooLarge);
    }
    let img = ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| QrError::Image(name.clone(), e.to_string()))?
        .decode()
        .map_err(|e| QrError::Image(name.clone(), e.to_string()))?
        .to_luma8();
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        img.get_pixel(x as u32, y as u32).0[0]
    });
    for grid in prepared.detect_grids() {
        if let Ok((_, content)) = grid.decode() {
            return Ok(content);
        }
    }
    Err(QrError::NotFound(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.png");
        let text = r#"{"u":"http://127.0.0.1:8701/wallet/abc","irmaqr":"disclosing"}"#;
        write_png(text, &path).unwrap();
        assert_eq!(decode_image(&path).unwrap(), text);
    }

    #[test]
    fn terminal_rendering_is_square_ish() {
        let s = terminal("hello").unwrap();
        let lines: Vec<&str> = s.lines().collect();
        let w = lines[0].chars().count();
        assert!(lines.iter().all(|l| l.chars().count() == w));
        assert_eq!(lines.len(), w.div_ceil(2));
    }

    #[test]
    fn blank_image_has_no_code() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blank.png");
        GrayImage::from_pixel(64, 64, Luma([255]))
            .save(&path)
            .unwrap();
        assert!(matches!(decode_image(&path), Err(QrError::NotFound(_))));
        assert!(matches!(
            decode_image(&dir.path().join("missing.png")),
            Err(QrError::Image(..))
        ));
    }
}
