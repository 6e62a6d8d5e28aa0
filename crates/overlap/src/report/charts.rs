//! Inline SVG charts for the HTML reports, written by hand: eigen-spectra on a log scale with the
//! SLO threshold, crossed vs concordant shares per feature pair, the arm mix, and λ_min across
//! versions.
//!
//! Entry points: [`spectrum`], [`pair_shares`], [`arm_mix`], [`lambda_history`]. Each returns a
//! complete `<svg>` element as a string that is safe to embed in HTML: every piece of text that
//! comes from data (bucket, feature, arm names) is XML-escaped here, and numbers are written with
//! fixed precision so the bytes are deterministic. No fonts, images or scripts: text uses the
//! reader's generic sans-serif font. Nothing here reads files or the view-model's JSON form.

use crate::escape::xml_attr;
use crate::svg::{self, BLUE, GREY, GRID, INK, ORANGE, SERIES, TRACK, VERMILLION};
use std::fmt::Write as _;

use crate::report::view::{BucketView, HistoryPoint, PairView};

fn num(x: f64) -> String {
    crate::model::number::format_number(x)
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

/// A power of ten as a short decimal label: 0.01, 0.1, 1, 10, … (scientific beyond ±4).
fn decade_label(k: i32) -> String {
    match k {
        -4..=-1 => format!("0.{}1", "0".repeat((-k - 1) as usize)),
        0..=4 => format!("1{}", "0".repeat(k as usize)),
        _ => format!("1e{k}"),
    }
}

/// A log₁₀ axis spanning whole decades around the positive values given.
struct LogAxis {
    lo: i32,
    hi: i32,
    top: f64,
    bottom: f64,
}

impl LogAxis {
    fn new(values: impl Iterator<Item = f64>, top: f64, bottom: f64) -> LogAxis {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values.filter(|v| v.is_finite() && *v > 0.0) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if !lo.is_finite() {
            (lo, hi) = (0.01, 1.0);
        }
        // Clamp to a range SVG coordinates and labels can carry; values outside sit on an edge.
        let lo = (lo.log10().floor() as i32).clamp(-15, 15);
        let hi = (hi.log10().ceil() as i32).clamp(-15, 15).max(lo + 1);
        LogAxis {
            lo,
            hi,
            top,
            bottom,
        }
    }

    /// The y coordinate of `v`; zero, negative or off-scale values sit on the bottom edge.
    fn y(&self, v: f64) -> f64 {
        if !(v.is_finite() && v > 0.0) {
            return self.bottom;
        }
        let t = (v.log10() - f64::from(self.lo)) / f64::from(self.hi - self.lo);
        let t = t.clamp(0.0, 1.0);
        self.bottom - t * (self.bottom - self.top)
    }

    fn draw(&self, out: &mut String, left: f64, right: f64) {
        for k in self.lo..=self.hi {
            let y = self.y(10f64.powi(k));
            let _ = write!(
                out,
                "<line x1=\"{left:.1}\" y1=\"{y:.1}\" x2=\"{right:.1}\" y2=\"{y:.1}\" stroke=\"{GRID}\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                left - 4.0,
                y + 4.0,
                decade_label(k)
            );
        }
    }
}

/// Eigen-spectrum of one bucket's information (ascending eigenvalues) on a log scale, with the
/// `lambda_min` threshold as a dashed line; eigenvalues below it are drawn in vermillion.
/// The log axis spans the positive eigenvalues only; exact zeros (the analysis reports noise as
/// 0) sit on a row of their own labelled "0", below a break, never on a decade like 1e-15.
pub fn spectrum(bucket: &str, eigenvalues: &[f64], threshold: Option<f64>) -> String {
    let (width, height) = (360.0, 190.0);
    let (left, right, top, bottom) = (52.0, 350.0, 14.0, 160.0);
    let has_zero = eigenvalues.iter().any(|v| v.is_nan() || *v <= 0.0);
    let log_bottom = if has_zero { bottom - 22.0 } else { bottom };
    let axis = LogAxis::new(
        eigenvalues.iter().copied().chain(threshold),
        top,
        log_bottom,
    );
    let mut out = String::new();
    svg::open(
        &mut out,
        width,
        height,
        &format!("Eigenvalues of the information of {bucket} (log scale)"),
    );
    axis.draw(&mut out, left, right);
    if has_zero {
        let _ = write!(
            out,
            "<line x1=\"{left:.1}\" y1=\"{:.1}\" x2=\"{right:.1}\" y2=\"{:.1}\" stroke=\"{GRID}\" \
             stroke-dasharray=\"2 3\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">0</text>",
            log_bottom + 11.0,
            log_bottom + 11.0,
            left - 4.0,
            bottom + 1.0
        );
    }
    let d = eigenvalues.len().max(1) as f64;
    let slot = (right - left) / d;
    let bar = (slot * 0.6).min(40.0);
    for (k, v) in eigenvalues.iter().enumerate() {
        let x = left + slot * (k as f64 + 0.5);
        // Zeros get a flat marker on the zero row; positive values a bar down to the baseline.
        let y = if *v > 0.0 { axis.y(*v) } else { bottom - 2.0 };
        let below = threshold.is_some_and(|t| *v < t) || *v <= 0.0;
        let _ = write!(
            out,
            "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{bar:.1}\" height=\"{:.1}\" fill=\"{}\">\
             <title>λ{} = {}</title></rect>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">λ{}</text>",
            x - bar / 2.0,
            (bottom - y).max(1.0),
            if below { VERMILLION } else { BLUE },
            k + 1,
            num(*v),
            bottom + 14.0,
            k + 1
        );
    }
    if let Some(t) = threshold {
        let y = axis.y(t);
        let _ = write!(
            out,
            "<line x1=\"{left:.1}\" y1=\"{y:.1}\" x2=\"{right:.1}\" y2=\"{y:.1}\" stroke=\"{VERMILLION}\" \
             stroke-width=\"1.5\" stroke-dasharray=\"5 3\"/>\
             <text x=\"{right:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"{VERMILLION}\" \
             stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\">threshold {}</text>",
            y - 4.0,
            num(t)
        );
    }
    let _ = write!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">eigenvalues, weakest first</text></svg>",
        (left + right) / 2.0,
        height - 4.0
    );
    out
}

/// Concordant vs crossed shares of each feature pair in a bucket, as 100% bars. With a
/// `min_quadrant_share` threshold t for a pair, ticks mark t and 1 − t: the boundary between the
/// two colours must lie between them.
pub fn pair_shares(bucket: &BucketView, pairs: &[PairView]) -> String {
    let row = 20.0;
    let (left, bar_w) = (150.0, 190.0);
    let width = left + bar_w + 150.0;
    let height = 26.0 + row * pairs.len() as f64 + 6.0;
    let mut out = String::new();
    svg::open(
        &mut out,
        width,
        height,
        &format!(
            "Concordant vs crossed comparisons per feature pair in {}",
            bucket.bucket
        ),
    );
    let _ = write!(
        out,
        "<rect x=\"{left:.1}\" y=\"4\" width=\"10\" height=\"10\" fill=\"{BLUE}\"/>\
         <text x=\"{:.1}\" y=\"13\">concordant (better on both)</text>\
         <rect x=\"{:.1}\" y=\"4\" width=\"10\" height=\"10\" fill=\"{ORANGE}\"/>\
         <text x=\"{:.1}\" y=\"13\">crossed</text>",
        left + 14.0,
        left + 180.0,
        left + 194.0
    );
    for (i, p) in pairs.iter().enumerate() {
        let y = 22.0 + row * i as f64;
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{} × {}</text>",
            left - 6.0,
            y + 12.0,
            xml_attr(&p.features[0]),
            xml_attr(&p.features[1])
        );
        match p.crossed_share {
            Some(crossed) => {
                let split = left + bar_w * (1.0 - crossed);
                let _ = write!(
                    out,
                    "<rect x=\"{left:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"14\" fill=\"{BLUE}\"/>\
                     <rect x=\"{split:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"14\" fill=\"{ORANGE}\"/>\
                     <text x=\"{:.1}\" y=\"{:.1}\">crossed {} of {}</text>",
                    split - left,
                    left + bar_w - split,
                    left + bar_w + 6.0,
                    y + 12.0,
                    pct(crossed),
                    p.both
                );
                let threshold = bucket.slos.iter().find_map(|s| {
                    let f = s.features.as_ref()?;
                    let same = (f[0] == p.features[0] && f[1] == p.features[1])
                        || (f[0] == p.features[1] && f[1] == p.features[0]);
                    (same && s.subject.starts_with("min_quadrant_share"))
                        .then_some(s.threshold)
                        .flatten()
                });
                if let Some(t) = threshold.filter(|t| (0.0..=0.5).contains(t)) {
                    for at in [t, 1.0 - t] {
                        let x = left + bar_w * at;
                        let _ = write!(
                            out,
                            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"{INK}\" stroke-width=\"1.5\"/>",
                            y - 2.0,
                            y + 16.0
                        );
                    }
                }
            }
            None => {
                let _ = write!(
                    out,
                    "<rect x=\"{left:.1}\" y=\"{y:.1}\" width=\"{bar_w:.1}\" height=\"14\" fill=\"{GRID}\"/>\
                     <text x=\"{:.1}\" y=\"{:.1}\">no comparisons</text>",
                    left + bar_w + 6.0,
                    y + 12.0
                );
            }
        }
    }
    out.push_str("</svg>");
    out
}

/// Share of a bucket's comparisons in each arm.
pub fn arm_mix(bucket: &str, arms: &[crate::model::analysis::ArmShare]) -> String {
    let row = 18.0;
    let (left, bar_w) = (170.0, 190.0);
    let width = left + bar_w + 120.0;
    let height = 8.0 + row * arms.len() as f64;
    let mut out = String::new();
    svg::open(
        &mut out,
        width,
        height,
        &format!("Share of comparisons per arm in {bucket}"),
    );
    for (i, a) in arms.iter().enumerate() {
        let y = 4.0 + row * i as f64;
        let share = if a.share.is_finite() {
            a.share.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <rect x=\"{left:.1}\" y=\"{y:.1}\" width=\"{bar_w:.1}\" height=\"12\" fill=\"{TRACK}\"/>\
             <rect x=\"{left:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"12\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{} ({})</text>",
            left - 6.0,
            y + 10.0,
            xml_attr(&a.arm),
            bar_w * share,
            if a.arm == "baseline" { GREY } else { BLUE },
            left + bar_w + 6.0,
            y + 10.0,
            pct(a.share),
            a.n
        );
    }
    out.push_str("</svg>");
    out
}

/// λ_min of every bucket across versions on a log scale, one line per bucket, with each bucket's
/// threshold as a dashed line in its colour. `thresholds` pairs bucket names with their
/// `lambda_min` threshold.
pub fn lambda_history(points: &[HistoryPoint], thresholds: &[(String, Option<f64>)]) -> String {
    let (width, height) = (500.0, 220.0);
    let (left, right, top, bottom) = (52.0, 330.0, 14.0, 186.0);
    let mut buckets: Vec<&str> = points
        .iter()
        .flat_map(|p| p.buckets.iter().map(|b| b.bucket.as_str()))
        .collect();
    buckets.sort_unstable();
    buckets.dedup();
    let axis = LogAxis::new(
        points
            .iter()
            .flat_map(|p| p.buckets.iter().map(|b| b.lambda_min))
            .chain(thresholds.iter().filter_map(|(_, t)| *t)),
        top,
        bottom,
    );
    let mut out = String::new();
    svg::open(
        &mut out,
        width,
        height,
        "λ_min per bucket across versions (log scale)",
    );
    axis.draw(&mut out, left, right);
    let n = points.len().max(1);
    let x_of = |i: usize| {
        if n == 1 {
            (left + right) / 2.0
        } else {
            left + 16.0 + (right - left - 32.0) * i as f64 / (n - 1) as f64
        }
    };
    for (i, p) in points.iter().enumerate() {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">v{}</text>",
            x_of(i),
            bottom + 16.0,
            p.version
        );
    }
    for (s, bucket) in buckets.iter().enumerate() {
        let colour = SERIES[s % SERIES.len()];
        if let Some(t) = thresholds
            .iter()
            .find(|(b, _)| b == bucket)
            .and_then(|(_, t)| *t)
        {
            let y = axis.y(t);
            let _ = write!(
                out,
                "<line x1=\"{left:.1}\" y1=\"{y:.1}\" x2=\"{right:.1}\" y2=\"{y:.1}\" stroke=\"{colour}\" \
                 stroke-dasharray=\"4 4\" stroke-opacity=\"0.7\"/>"
            );
        }
        let coords: Vec<(f64, f64, f64)> = points
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                p.buckets
                    .iter()
                    .find(|b| b.bucket == *bucket)
                    .map(|b| (x_of(i), axis.y(b.lambda_min), b.lambda_min))
            })
            .collect();
        let path: Vec<String> = coords
            .iter()
            .map(|(x, y, _)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = write!(
            out,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>",
            path.join(" ")
        );
        for (x, y, v) in &coords {
            let _ = write!(
                out,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3.5\" fill=\"{colour}\"><title>{} λ_min = {}</title></circle>",
                xml_attr(bucket),
                num(*v)
            );
        }
        let ly = top + 6.0 + 16.0 * s as f64;
        let _ = write!(
            out,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"{colour}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            right + 14.0,
            ly - 9.0,
            right + 28.0,
            ly,
            xml_attr(bucket)
        );
    }
    let _ = write!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\">dashed: λ_min thresholds</text></svg>",
        right + 14.0,
        top + 6.0 + 16.0 * buckets.len() as f64 + 8.0
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_data_is_escaped() {
        assert_eq!(
            xml_attr("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert('x')&lt;/script&gt; &amp; &quot;q&quot;"
        );
        let svg = spectrum("<b>", &[0.01, 0.1], Some(0.05));
        assert!(svg.contains("&lt;b&gt;") && !svg.contains("<b>"));
    }

    #[test]
    fn decades_read_as_decimals() {
        assert_eq!(decade_label(-3), "0.001");
        assert_eq!(decade_label(-1), "0.1");
        assert_eq!(decade_label(0), "1");
        assert_eq!(decade_label(2), "100");
        assert_eq!(decade_label(-7), "1e-7");
    }

    #[test]
    fn zero_eigenvalues_sit_on_a_zero_row_not_on_a_tiny_decade() {
        let svg = spectrum("b", &[0.0, 0.004, 0.5], None);
        // The axis spans the positive values (0.001 … 1) and a separate row reads "0".
        assert!(svg.contains(">0.001<") && svg.contains(">1<"), "{svg}");
        assert!(!svg.contains("1e-15") && !svg.contains("1e-12"), "{svg}");
        assert!(svg.contains(">0</text>"), "{svg}");
        assert!(svg.contains("<title>λ1 = 0</title>"), "{svg}");
        // Without zeros there is no zero row.
        assert!(!spectrum("b", &[0.004, 0.5], None).contains(">0</text>"));
    }

    #[test]
    fn spectrum_handles_zero_and_empty_inputs() {
        let svg = spectrum("b", &[0.0, 0.5], None);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        let empty = spectrum("b", &[], Some(0.02));
        assert!(empty.ends_with("</svg>"));
        assert_eq!(spectrum("b", &[0.0, 0.5], None), svg, "deterministic");
    }
}
