//! The grade's criteria, one function each: whether the code decodes, carries an OTP, in byte
//! mode at the smallest version, its error-correction level, quiet zone, module size and colours,
//! and each camera row; every one says, unless it passed, what to change.

use image::{DynamicImage, GrayImage};

use super::geometry::{Geometry, bounding_box, pixel_at};
use super::{Criterion, MIN_MODULE_PX, REFERENCE_MODULE_PX, REQUIRED_QUIET_MODULES, Verdict};
use super::{camera_id, camera_name, criterion, round_to};
use crate::camera::{self, Disturbance};
use crate::{EcLevel, QrError, QrInfo};
use protocol::otp::{OTP_CHARS, Otp};
use protocol::rng;

/// Seed of the noise and clutter the camera rows draw, so a grade is the same on every run.
const CAMERA_SEED: u64 = 0x7172_2d63_6865_636b;
pub(super) fn no_code(e: &QrError) -> Criterion {
    let advice = match e {
        QrError::CodeUnreadable { .. } => {
            "something like a code was found but not read: check the picture is not cut, stretched or \
             smudged, and render it as `mobauth qr encode` does"
        }
        QrError::NotUtf8 { .. } => {
            "the code holds binary data: a portal's code must carry the OTP string (OTP-003)"
        }
        _ => "the file must be the picture of the QR code the portal shows, with its white margin",
    };
    criterion("decodes", Verdict::Fail, format!("{e}: {advice}"))
}

pub(super) fn decodes(info: &QrInfo) -> Criterion {
    if info.strategy == "plain" {
        return criterion("decodes", Verdict::Pass, "read as it is, with no clean-up".to_owned());
    }
    criterion(
        "decodes",
        Verdict::Warn,
        format!(
            "read only after the decoder's `{}` clean-up, which simpler phone readers lack: serve the \
             picture as rendered, dark modules on white, without scaling, noise or JPEG compression",
            info.strategy
        ),
    )
}

pub(super) fn otp(payload: &str) -> Criterion {
    match Otp::decode(payload) {
        Ok(_) => criterion(
            "otp",
            Verdict::Pass,
            format!("a well-formed OTP: {OTP_CHARS} characters of base64, format version 0x01 (OTP-001)"),
        ),
        Err(e) => {
            let hint = if payload.trim() != payload && Otp::decode(payload.trim()).is_ok() {
                "it is an OTP with whitespace around it: put the OTP in the code exactly, with nothing added"
                    .to_owned()
            } else {
                format!(
                    "a portal's code must carry exactly the {OTP_CHARS}-character OTP from the relying-party \
                     API, with no URL, prefix or whitespace around it (OTP-003)"
                )
            };
            criterion(
                "otp",
                Verdict::Fail,
                format!("the payload ({} characters) is not an OTP: {e}; {hint}", payload.chars().count()),
            )
        }
    }
}

/// Smallest version holding `payload` as one byte-mode segment at `level`, if any does.
pub(super) fn byte_mode_version(payload: &str, level: EcLevel) -> Option<u8> {
    let code = crate::render::encode(payload, level).ok()?;
    match code.version() {
        qrcode::Version::Normal(v) => u8::try_from(v).ok(),
        qrcode::Version::Micro(_) => None,
    }
}

pub(super) fn version(info: &QrInfo, min_version: Option<u8>) -> Criterion {
    let v = info.version;
    let side = info.side_modules();
    match min_version {
        Some(min) if v > min => criterion(
            "version",
            Verdict::Warn,
            format!(
                "version {v} ({side} modules a side) where version {min} holds this payload at level {}: the \
                 larger symbol gets smaller modules at the same picture size; let the encoder choose the \
                 smallest version",
                info.ec_level
            ),
        ),
        Some(min) if v < min => criterion(
            "version",
            Verdict::Pass,
            format!("version {v} ({side} modules a side), smaller than byte mode allows (see byte mode)"),
        ),
        Some(_) => criterion(
            "version",
            Verdict::Pass,
            format!(
                "version {v} ({side} modules a side), the smallest that holds this payload in byte mode at \
                 level {}",
                info.ec_level
            ),
        ),
        None => criterion("version", Verdict::Pass, format!("version {v} ({side} modules a side)")),
    }
}

pub(super) fn byte_mode(
    gray: &GrayImage,
    info: &QrInfo,
    geometry: &Geometry,
    min_version: Option<u8>,
) -> Criterion {
    let len = info.payload.len();
    if min_version.is_none_or(|min| info.version < min) {
        return criterion(
            "byte_mode",
            Verdict::Fail,
            format!(
                "version {} cannot hold the {len}-byte payload in byte mode at level {}: the encoder used \
                 numeric or alphanumeric segments; OTP-003 requires the OTP in byte mode (most libraries \
                 have a byte or binary mode option)",
                info.version, info.ec_level
            ),
        );
    }
    let Some(u) = geometry.upright else {
        return criterion(
            "byte_mode",
            Verdict::Warn,
            "not checked: the code is rotated or skewed in the picture; check the picture the portal \
             serves"
                .to_owned(),
        );
    };
    let Some(expected) = byte_mode_symbol(&info.payload, info) else {
        return criterion(
            "byte_mode",
            Verdict::Warn,
            "not checked: the byte-mode symbol could not be rebuilt for comparison".to_owned(),
        );
    };
    let n = geometry.modules;
    let centre = |start: u32, m: f64, i: u32| f64::from(start) + (f64::from(i) + 0.5) * m;
    let differ = (0..n)
        .flat_map(|my| (0..n).map(move |mx| (mx, my)))
        .zip(expected.iter())
        .filter(|&((mx, my), &want)| {
            let p = [centre(u.left, u.module.0, mx), centre(u.top, u.module.1, my)];
            pixel_at(gray, p).map(|v| geometry.is_ink(v)) != Some(want)
        })
        .count();
    if differ == 0 {
        return criterion(
            "byte_mode",
            Verdict::Pass,
            "the payload as one byte-mode segment, module for module (OTP-003)".to_owned(),
        );
    }
    criterion(
        "byte_mode",
        Verdict::Warn,
        format!(
            "{differ} of {} modules differ from the payload as one byte-mode segment at version {}, \
             level {}, \
             mask {}: the encoder split the payload into several segments, added an ECI header, or the \
             picture is damaged; OTP-003 asks for exactly the OTP in byte mode",
            n * n,
            info.version,
            info.ec_level,
            info.mask
        ),
    )
}

/// The modules (row by row, dark = true) of `payload` as one byte-mode segment at the version,
/// level and mask the picture has; `None` when the payload does not fit that version and level.
pub fn byte_mode_symbol(payload: &str, info: &QrInfo) -> Option<Vec<bool>> {
    use qrcode::canvas::{Canvas, MaskPattern};
    let version = qrcode::Version::Normal(i16::from(info.version));
    let level = info.ec_level.to_qrcode();
    let mut bits = qrcode::bits::Bits::new(version);
    bits.push_byte_data(payload.as_bytes()).ok()?;
    bits.push_terminator(level).ok()?;
    let (data, ec) = qrcode::ec::construct_codewords(&bits.into_bytes(), version, level).ok()?;
    let mut canvas = Canvas::new(version, level);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&data, &ec);
    // The mask number read from the format bits is ISO/IEC 18004's pattern reference.
    let pattern = match info.mask {
        0 => MaskPattern::Checkerboard,
        1 => MaskPattern::HorizontalLines,
        2 => MaskPattern::VerticalLines,
        3 => MaskPattern::DiagonalLines,
        4 => MaskPattern::LargeCheckerboard,
        5 => MaskPattern::Fields,
        6 => MaskPattern::Diamonds,
        _ => MaskPattern::Meadow,
    };
    canvas.apply_mask(pattern);
    Some(canvas.into_colors().into_iter().map(|c| c == qrcode::Color::Dark).collect())
}

pub(super) fn ec_level(level: EcLevel) -> Criterion {
    match level {
        EcLevel::L => criterion(
            "ec_level",
            Verdict::Warn,
            "level L restores only about 7 % of the symbol: glare or a smudged screen can defeat it; render \
             level M as the reference portal does (OTP-004)"
                .to_owned(),
        ),
        EcLevel::M => criterion(
            "ec_level",
            Verdict::Pass,
            "level M, as the reference portal renders (OTP-004)".to_owned(),
        ),
        EcLevel::Q | EcLevel::H => criterion(
            "ec_level",
            Verdict::Pass,
            format!(
                "level {level}: more robust than the reference portal's M, at the cost of a larger symbol"
            ),
        ),
    }
}

pub(super) fn quiet_zone(geometry: &Geometry) -> Criterion {
    let (Some(q), Some(u)) = (geometry.quiet, geometry.upright) else {
        return criterion(
            "quiet_zone",
            Verdict::Warn,
            "not measured: the code is rotated or skewed in the picture, or its finder patterns are \
             damaged; check the picture the portal serves"
                .to_owned(),
        );
    };
    let sides = [
        ("left", q.left, u.module.0, q.to_edge[0]),
        ("top", q.top, u.module.1, q.to_edge[1]),
        ("right", q.right, u.module.0, q.to_edge[2]),
        ("bottom", q.bottom, u.module.1, q.to_edge[3]),
    ];
    let all = sides.iter().map(|(name, modules, _, _)| format!("{name} {}", round_to(*modules, 10.0)));
    let all = format!("{} modules", all.collect::<Vec<_>>().join(", "));
    // A twentieth of a module of slack absorbs the rounding of a non-integer module size.
    let short: Vec<(&str, f64, bool)> = sides
        .iter()
        .filter(|(_, modules, _, _)| *modules < REQUIRED_QUIET_MODULES - 0.05)
        .map(|(name, modules, px, to_edge)| {
            (*name, ((REQUIRED_QUIET_MODULES - modules) * px).ceil(), *to_edge)
        })
        .collect();
    // `place` is "on the left" and so on, or "on every side" when all four need the same.
    let fix = |place: &str, add: f64, to_edge: bool| {
        if to_edge {
            format!("add {add} px of white {place}")
        } else {
            format!("move the dark content {place} {add} px further away")
        }
    };
    let short: Vec<String> = match short.as_slice() {
        [(_, add, edge), rest @ ..]
            if rest.len() == 3 && rest.iter().all(|(_, a, e)| a == add && e == edge) =>
        {
            vec![fix("on every side", *add, *edge)]
        }
        _ => short.iter().map(|(name, add, edge)| fix(&format!("on the {name}"), *add, *edge)).collect(),
    };
    if short.is_empty() {
        return criterion("quiet_zone", Verdict::Pass, format!("{all}: at least 4 on every side"));
    }
    criterion(
        "quiet_zone",
        Verdict::Fail,
        format!(
            "{all}; ISO/IEC 18004 and OTP-004 ask for 4 modules of light margin on every side, in the \
             picture \
             itself (the page around it may be dark or busy): {}",
            short.join(", ")
        ),
    )
}

pub(super) fn module_size(geometry: &Geometry) -> Criterion {
    let m = geometry.module_px();
    let shown = round_to(m, 100.0);
    let symbol = round_to(m * f64::from(geometry.modules), 1.0);
    if m < MIN_MODULE_PX {
        return criterion(
            "module_size",
            Verdict::Fail,
            format!(
                "{shown} px a module ({symbol} px for the symbol): too small to read reliably, and a browser \
                 scaling it up blurs the modules; render 8 px a module (OTP-004)"
            ),
        );
    }
    if m < REFERENCE_MODULE_PX - 0.05 {
        return criterion(
            "module_size",
            Verdict::Warn,
            format!(
                "{shown} px a module ({symbol} px for the symbol), below the reference's 8: the code is \
                 small \
                 on screen and frail under blur and distance; render 8 px a module (OTP-004)"
            ),
        );
    }
    if let Some(u) = geometry.upright {
        let (mx, my) = u.module;
        if (mx - my).abs() > 0.05 * m {
            return criterion(
                "module_size",
                Verdict::Warn,
                format!(
                    "modules are {} x {} px: the picture was stretched; keep its aspect ratio",
                    round_to(mx, 100.0),
                    round_to(my, 100.0)
                ),
            );
        }
        if (m - m.round()).abs() > 0.1 {
            return criterion(
                "module_size",
                Verdict::Warn,
                format!(
                    "{shown} px a module, not a whole number: the picture was resampled, which blurs module \
                     edges; render a whole number of pixels a module (8) and show the picture at its size"
                ),
            );
        }
    }
    criterion("module_size", Verdict::Pass, format!("{shown} px a module ({symbol} px for the symbol)"))
}

pub(super) fn colours(img: &DynamicImage, gray: &GrayImage, geometry: &Geometry) -> Criterion {
    let (x0, y0, x1, y1) = match geometry.upright {
        Some(u) => (u.left, u.top, u.right, u.bottom),
        None => bounding_box(gray, &geometry.corners),
    };
    let (mut dark, mut light) = ([0u64; 256], [0u64; 256]);
    for y in y0..y1 {
        for x in x0..x1 {
            let p = gray.get_pixel(x, y).0[0];
            let hist = if p <= geometry.threshold { &mut dark } else { &mut light };
            hist[usize::from(p)] += 1;
        }
    }
    let contrast = i32::from(median(&light)) - i32::from(median(&dark));
    let transparent = img.color().has_alpha() && img.to_rgba8().pixels().any(|p| p.0[3] < 255);
    let mut problems = Vec::new();
    if !geometry.ink_is_dark {
        problems.push(
            "light modules on a dark background: many phone readers only look for dark modules; draw dark \
             modules on white (OTP-004: black on white)"
                .to_owned(),
        );
    }
    if contrast < 128 {
        problems.push(format!(
            "low contrast ({contrast} grey levels of 255 between the modules and the background): use black \
             on white"
        ));
    }
    if transparent {
        problems.push(
            "transparent pixels: on a dark page (dark mode) they show dark and the code vanishes; give the \
             picture an opaque white background"
                .to_owned(),
        );
    }
    if problems.is_empty() {
        return criterion(
            "colours",
            Verdict::Pass,
            format!("dark modules on a light background, {contrast} grey levels of 255 apart"),
        );
    }
    criterion("colours", Verdict::Warn, problems.join("; "))
}

/// Median of a histogram.
fn median(hist: &[u64; 256]) -> u8 {
    let total: u64 = hist.iter().sum();
    let mut acc = 0;
    let index = hist.iter().position(|&c| {
        acc += c;
        acc * 2 > total
    });
    index.and_then(|i| u8::try_from(i).ok()).unwrap_or(0)
}

/// What about the picture, worse than the reference, could explain a camera row it loses.
pub(super) fn camera_hint(info: &QrInfo, geometry: &Geometry) -> String {
    let mut causes = Vec::new();
    let m = geometry.module_px();
    if m < REFERENCE_MODULE_PX - 0.05 {
        causes.push(format!("{} px modules (8 would help)", round_to(m, 100.0)));
    }
    if geometry
        .quiet
        .is_some_and(|q| q.left.min(q.top).min(q.right).min(q.bottom) < REQUIRED_QUIET_MODULES - 0.05)
    {
        causes.push("a quiet zone under 4 modules".to_owned());
    }
    if info.ec_level == EcLevel::L {
        causes.push("level L (M would help)".to_owned());
    }
    if !geometry.ink_is_dark {
        causes.push("inverted colours".to_owned());
    }
    if causes.is_empty() {
        "the reference rendering (`mobauth qr encode`) survives it; compare the two pictures".to_owned()
    } else {
        format!("the reference rendering survives it; this picture has {}", causes.join(", "))
    }
}

pub(super) fn camera_row(row: &Disturbance, scene: &GrayImage, payload: &str, hint: &str) -> Criterion {
    let mut rng = rng::seeded(rng::derive_seed(CAMERA_SEED, row.id));
    // PNG is lossless, so its pixels are decoded as they are, sparing an encode and a decode
    // (a tenth of the grade's time); JPEG goes through the file, whose artefacts are the point.
    let outcome = match row.apply(scene, &mut rng) {
        camera::Sample::Png(img) => crate::inspect_image(&img),
        jpeg @ camera::Sample::Jpeg(..) => jpeg.encode().and_then(|bytes| crate::inspect(&bytes)),
    };
    let (verdict, reason) = match outcome {
        Ok(info) if info.payload == payload => {
            (Verdict::Pass, "still decodes to the same payload".to_owned())
        }
        Ok(_) => (Verdict::Fail, format!("decodes to a different payload; {hint}")),
        Err(e) => (Verdict::Fail, format!("no longer decodes ({e}); {hint}")),
    };
    Criterion { id: camera_id(row), name: camera_name(row), verdict, reason }
}
