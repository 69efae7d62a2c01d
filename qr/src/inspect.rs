//! Reading a picture: loading PNG or JPEG bytes within [`MAX_PIXELS`], flattening to greyscale,
//! and the public entry points [`decode`], [`decode_image`], [`inspect`] and [`inspect_image`],
//! which hand the greyscale image to the pipeline (in `decode.rs`).

use std::fmt;
use std::io::Cursor;

use image::{DynamicImage, GrayImage, ImageFormat, Luma};

use crate::decode::read;
use crate::{MAX_PIXELS, QrError, QrInfo};

fn unreadable(reason: impl fmt::Display) -> QrError {
    QrError::UnreadableImage { reason: reason.to_string() }
}

pub(crate) fn check_size(width: u32, height: u32) -> Result<(), QrError> {
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(QrError::ImageTooLarge { width, height, max_pixels: MAX_PIXELS });
    }
    Ok(())
}

/// Decodes PNG or JPEG bytes, refusing anything else and anything above [`MAX_PIXELS`].
pub(crate) fn load(image_bytes: &[u8]) -> Result<DynamicImage, QrError> {
    if image_bytes.is_empty() {
        return Err(unreadable("no bytes"));
    }
    let reader = || -> Result<image::ImageReader<Cursor<&[u8]>>, QrError> {
        let reader =
            image::ImageReader::new(Cursor::new(image_bytes)).with_guessed_format().map_err(unreadable)?;
        match reader.format() {
            Some(ImageFormat::Png | ImageFormat::Jpeg) => Ok(reader),
            Some(other) => Err(unreadable(format!("{other:?} images are not accepted, only PNG or JPEG"))),
            None => Err(unreadable("not a PNG or JPEG image")),
        }
    };
    // Header first: a 100-byte PNG can claim to be 60000 x 60000 pixels.
    let (width, height) = reader()?.into_dimensions().map_err(unreadable)?;
    check_size(width, height)?;
    let mut reader = reader()?;
    let mut limits = image::Limits::default();
    // Backstop should the pixel data disagree with the header: dimensions as read, and
    // room for the largest sample layout (16-bit RGBA, 8 bytes a pixel).
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    limits.max_alloc = Some(MAX_PIXELS * 8);
    reader.limits(limits);
    reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => QrError::ImageTooLarge { width, height, max_pixels: MAX_PIXELS },
        other => unreadable(other),
    })
}

/// Greyscale with transparency flattened onto white.
///
/// A transparent pixel's colour channels are arbitrary (often black), so dropping alpha would
/// turn a QR code whose light modules are transparent into a black square. Compositing onto
/// white is what a browser page with a white background shows.
pub(crate) fn flatten_to_luma(img: &DynamicImage) -> GrayImage {
    if !img.color().has_alpha() {
        return img.to_luma8();
    }
    let rgba = img.to_rgba8();
    GrayImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let a = u32::from(a);
        let over_white = |c: u8| (u32::from(c) * a + 255 * (255 - a) + 127) / 255;
        // Rec. 709 luma, the same weights image's to_luma8 uses.
        let y = (2126 * over_white(r) + 7152 * over_white(g) + 722 * over_white(b) + 5000) / 10_000;
        Luma([clamp_u8(y)])
    })
}

pub(crate) fn clamp_u8(v: u32) -> u8 {
    u8::try_from(v).unwrap_or(u8::MAX)
}
/// Reads the first QR code in PNG or JPEG bytes and returns its payload.
///
/// # Errors
/// [`QrError::UnreadableImage`], [`QrError::ImageTooLarge`], [`QrError::NoCodeFound`],
/// [`QrError::TooComplex`], [`QrError::CodeUnreadable`], [`QrError::NotUtf8`].
pub fn decode(image_bytes: &[u8]) -> Result<String, QrError> {
    inspect(image_bytes).map(|info| info.payload)
}

/// Reads the first QR code in an already decoded image (alpha is flattened onto white).
///
/// # Errors
/// As [`decode`], except [`QrError::UnreadableImage`].
pub fn decode_image(img: &DynamicImage) -> Result<String, QrError> {
    inspect_image(img).map(|info| info.payload)
}

/// Like [`decode`], but also reports version, error-correction level, mask and the strategy
/// that read the code.
///
/// # Errors
/// As [`decode`].
pub fn inspect(image_bytes: &[u8]) -> Result<QrInfo, QrError> {
    inspect_image(&load(image_bytes)?)
}

/// Like [`decode_image`], but returns a [`QrInfo`].
///
/// # Errors
/// As [`decode_image`].
pub fn inspect_image(img: &DynamicImage) -> Result<QrInfo, QrError> {
    check_size(img.width(), img.height())?;
    read(flatten_to_luma(img))
}
