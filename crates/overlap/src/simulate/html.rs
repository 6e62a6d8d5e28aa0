//! A self-contained HTML page for a simulation report: inline CSS and SVG charts, no scripts, no
//! external assets.
//!
//! Entry point: [`render`]. Charts: MSE against labels per strategy (log–log, one chart per sweep
//! point) and, for a sweep, labels-to-target ratio (passive / best active) against ρ with the
//! exact-information prediction and the 1/(1 − ρ²) curve. Text from the scenario is XML-escaped;
//! numbers are written with fixed precision so the bytes are deterministic for a report.

use crate::escape::xml_attr;
use crate::svg::{self, GRID, INK, SERIES};
use std::fmt::Write as _;

use super::{Method, PointReport, SimReport, SweepRow};
use crate::model::number::format_number;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 360.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 150.0;
const TOP: f64 = 20.0;
const BOTTOM: f64 = 44.0;

/// A number for a table cell or a tick ([`format_number`]); `—` where there is none.
fn fmt(x: f64) -> String {
    if x.is_finite() {
        format_number(x)
    } else {
        "—".into()
    }
}

/// One axis: a data range mapped onto a pixel range, linearly or in log10.
#[derive(Clone, Copy)]
struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
    /// Log axis fitted to the data (not rounded out to decades): ticks at 1, 2 and 5 × 10^k.
    tight: bool,
}

impl Axis {
    fn new(values: impl Iterator<Item = f64>, log: bool) -> Option<Axis> {
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for v in values.filter(|v| v.is_finite() && (!log || *v > 0.0)) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if !lo.is_finite() {
            return None;
        }
        if log {
            lo = 10f64.powf(lo.log10().floor());
            hi = 10f64.powf(hi.log10().ceil());
            if hi <= lo {
                hi = lo * 10.0;
            }
        } else if hi <= lo {
            hi = lo + 1.0;
        }
        Some(Axis {
            lo,
            hi,
            log,
            tight: false,
        })
    }

    /// A log axis spanning exactly the data (labels run from the first checkpoint to the last,
    /// and the axis should stop where the runs stop).
    fn tight_log(values: impl Iterator<Item = f64>) -> Option<Axis> {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values.filter(|v| v.is_finite() && *v > 0.0) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if !lo.is_finite() {
            return None;
        }
        if hi <= lo {
            hi = lo * 10.0;
        }
        Some(Axis {
            lo,
            hi,
            log: true,
            tight: true,
        })
    }

    /// Position in [0, 1].
    fn unit(&self, v: f64) -> f64 {
        if self.log {
            (v.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        }
    }

    fn ticks(&self) -> Vec<f64> {
        if self.log && self.tight {
            let mut out = Vec::new();
            let mut k = self.lo.log10().floor() as i32;
            while 10f64.powi(k) <= self.hi * 1.000_001 {
                for m in [1.0, 2.0, 5.0] {
                    let t = m * 10f64.powi(k);
                    if t >= self.lo * 0.999_999 && t <= self.hi * 1.000_001 {
                        out.push(t);
                    }
                }
                k += 1;
            }
            return out;
        }
        if self.log {
            let (a, b) = (
                self.lo.log10().round() as i32,
                self.hi.log10().round() as i32,
            );
            (a..=b).map(|k| 10f64.powi(k)).collect()
        } else {
            (0..=5)
                .map(|i| self.lo + (self.hi - self.lo) * i as f64 / 5.0)
                .collect()
        }
    }
}

struct Chart {
    x: Axis,
    y: Axis,
    svg: String,
}

impl Chart {
    fn new(x: Axis, y: Axis, x_label: &str, y_label: &str, title: &str) -> Chart {
        let mut svg = String::new();
        svg::open(&mut svg, WIDTH, HEIGHT, title);
        let mut c = Chart { x, y, svg };
        let (x0, x1) = (LEFT, WIDTH - RIGHT);
        let (y0, y1) = (HEIGHT - BOTTOM, TOP);
        for t in c.x.ticks() {
            let px = c.px(t);
            let _ = write!(
                c.svg,
                r#"<line x1="{px:.1}" y1="{y0:.1}" x2="{px:.1}" y2="{y1:.1}" stroke="{GRID}"/><text x="{px:.1}" y="{:.1}" text-anchor="middle" fill="{INK}">{}</text>"#,
                y0 + 14.0,
                fmt(t)
            );
        }
        for t in c.y.ticks() {
            let py = c.py(t);
            let _ = write!(
                c.svg,
                r#"<line x1="{x0:.1}" y1="{py:.1}" x2="{x1:.1}" y2="{py:.1}" stroke="{GRID}"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="{INK}">{}</text>"#,
                x0 - 4.0,
                py + 4.0,
                fmt(t)
            );
        }
        let _ = write!(
            c.svg,
            r#"<rect x="{x0:.1}" y="{y1:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="{INK}"/><text x="{:.1}" y="{:.1}" text-anchor="middle" fill="{INK}">{}</text><text transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle" fill="{INK}">{}</text>"#,
            x1 - x0,
            y0 - y1,
            (x0 + x1) / 2.0,
            HEIGHT - 8.0,
            xml_attr(x_label),
            (y0 + y1) / 2.0,
            xml_attr(y_label)
        );
        c
    }

    fn px(&self, v: f64) -> f64 {
        LEFT + self.x.unit(v) * (WIDTH - RIGHT - LEFT)
    }

    fn py(&self, v: f64) -> f64 {
        HEIGHT - BOTTOM - self.y.unit(v) * (HEIGHT - BOTTOM - TOP)
    }

    fn visible(&self, x: f64, y: f64) -> bool {
        x.is_finite()
            && y.is_finite()
            && (!self.x.log || x > 0.0)
            && (!self.y.log || y > 0.0)
            && (0.0..=1.0).contains(&self.y.unit(y))
            && (0.0..=1.0).contains(&self.x.unit(x))
    }

    /// A band between `low` and `high` (one (x, y) pair per point), in series `k`'s colour.
    fn band(&mut self, k: usize, low: &[(f64, f64)], high: &[(f64, f64)]) {
        let colour = SERIES[k % SERIES.len()];
        let mut pts: Vec<String> = high
            .iter()
            .filter(|(x, y)| self.visible(*x, *y))
            .map(|(x, y)| format!("{:.1},{:.1}", self.px(*x), self.py(*y)))
            .collect();
        pts.extend(
            low.iter()
                .rev()
                .filter(|(x, y)| self.visible(*x, *y))
                .map(|(x, y)| format!("{:.1},{:.1}", self.px(*x), self.py(*y))),
        );
        if pts.len() > 2 {
            let _ = write!(
                self.svg,
                r#"<polygon fill="{colour}" fill-opacity="0.12" stroke="none" points="{}"/>"#,
                pts.join(" ")
            );
        }
    }

    /// A series as a polyline (with markers when `markers`), and its legend entry at slot `k`.
    /// Each slot has its own colour, dash pattern and marker shape, so lines that run close stay
    /// apart in print and for readers who do not tell the colours apart.
    fn series(&mut self, k: usize, name: &str, points: &[(f64, f64)], dashed: bool, markers: bool) {
        let colour = SERIES[k % SERIES.len()];
        let pts: Vec<String> = points
            .iter()
            .filter(|(x, y)| self.visible(*x, *y))
            .map(|(x, y)| format!("{:.1},{:.1}", self.px(*x), self.py(*y)))
            .collect();
        const DASHES: [&str; 6] = ["", "7 3", "2 3", "9 3 2 3", "4 2", "12 4"];
        let pattern = if dashed {
            "5 4"
        } else {
            DASHES[k % DASHES.len()]
        };
        let dash = if pattern.is_empty() {
            String::new()
        } else {
            format!(r#" stroke-dasharray="{pattern}""#)
        };
        if pts.len() > 1 {
            let _ = write!(
                self.svg,
                r#"<polyline fill="none" stroke="{colour}" stroke-width="1.8"{dash} points="{}"/>"#,
                pts.join(" ")
            );
        }
        if markers {
            for p in &pts {
                if let Some((x, y)) = p.split_once(',') {
                    if let (Ok(x), Ok(y)) = (x.parse::<f64>(), y.parse::<f64>()) {
                        self.svg.push_str(&marker(k, x, y, colour));
                    }
                }
            }
        }
        let ly = TOP + 14.0 + 16.0 * k as f64;
        let lx = WIDTH - RIGHT + 10.0;
        let _ = write!(
            self.svg,
            r#"<line x1="{lx:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{colour}" stroke-width="2"{dash}/><text x="{:.1}" y="{ly:.1}" fill="{INK}">{}</text>"#,
            ly - 4.0,
            lx + 18.0,
            ly - 4.0,
            lx + 24.0,
            xml_attr(name)
        );
        if markers {
            self.svg.push_str(&marker(k, lx + 9.0, ly - 4.0, colour));
        }
    }

    fn finish(mut self) -> String {
        self.svg.push_str("</svg>");
        self.svg
    }
}

/// Slot `k`'s marker at (x, y): circle, square, triangle, diamond, cross, then again.
fn marker(k: usize, x: f64, y: f64, colour: &str) -> String {
    let r = 3.2;
    match k % 5 {
        0 => format!(r#"<circle cx="{x:.1}" cy="{y:.1}" r="{r}" fill="{colour}"/>"#),
        1 => format!(
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{colour}"/>"#,
            x - r,
            y - r,
            2.0 * r,
            2.0 * r
        ),
        2 => format!(
            r#"<polygon points="{x:.1},{:.1} {:.1},{:.1} {:.1},{:.1}" fill="{colour}"/>"#,
            y - r - 0.8,
            x - r - 0.6,
            y + r,
            x + r + 0.6,
            y + r
        ),
        3 => format!(
            r#"<polygon points="{x:.1},{:.1} {:.1},{y:.1} {x:.1},{:.1} {:.1},{y:.1}" fill="{colour}"/>"#,
            y - r - 0.8,
            x + r + 0.8,
            y + r + 0.8,
            x - r - 0.8
        ),
        _ => format!(
            r#"<path d="M{:.1} {:.1}L{:.1} {:.1}M{:.1} {:.1}L{:.1} {:.1}" stroke="{colour}" stroke-width="2"/>"#,
            x - r,
            y - r,
            x + r,
            y + r,
            x - r,
            y + r,
            x + r,
            y - r
        ),
    }
}

/// One sentence a reader with a minute takes away: which strategy ends with the lowest error,
/// by how much against passive collection, and who reaches the target first.
fn takeaway(point: &PointReport, target: f64) -> String {
    let last = |s: &super::StrategyReport| s.checkpoints.last().map(|c| (c.labels, c.mse.mean));
    let Some((best, (labels, mse))) = point
        .strategies
        .iter()
        .filter_map(|s| last(s).map(|l| (s, l)))
        .min_by(|a, b| a.1.1.total_cmp(&b.1.1))
    else {
        return String::new();
    };
    let mut out = format!(
        "At {labels} labels, <b>{}</b> has the lowest error (MSE {})",
        xml_attr(&best.strategy),
        fmt(mse)
    );
    if let Some((_, passive)) = point
        .strategies
        .iter()
        .find(|s| s.strategy == "passive" && s.strategy != best.strategy)
        .and_then(|s| last(s).map(|l| (s, l.1)))
    {
        if mse > 0.0 {
            let _ = write!(
                out,
                ", {}× below passive collection's {}",
                fmt(passive / mse),
                fmt(passive)
            );
        }
    }
    let active: Vec<f64> = point
        .strategies
        .iter()
        .filter(|s| s.strategy != "passive")
        .filter_map(|s| last(s).map(|l| l.1))
        .collect();
    let (lo, hi) = active
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    if active.len() > 2 && lo > 0.0 && hi / lo < 1.5 {
        let _ = write!(
            out,
            "; the {} active strategies end within a factor of {} of each other (MSE {}–{}), so here the choice among them matters less than leaving passive collection",
            active.len(),
            fmt(hi / lo),
            fmt(lo),
            fmt(hi)
        );
    }
    let reached = |s: &super::StrategyReport| {
        s.labels_to_target
            .as_ref()
            .filter(|l| l.method != Method::Extrapolated)
            .map(|l| l.labels)
    };
    match point
        .strategies
        .iter()
        .filter_map(|s| reached(s).map(|l| (s, l)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
    {
        Some((first, l)) => {
            let _ = write!(
                out,
                "; {} reaches the target MSE {} first, after {} labels",
                xml_attr(&first.strategy),
                fmt(target),
                fmt(l.round())
            );
        }
        None => {
            let _ = write!(
                out,
                "; no strategy reaches the target MSE {} within the run",
                fmt(target)
            );
        }
    }
    out.push('.');
    format!("<p class=\"takeaway\">{out}</p>\n")
}

fn mse_chart(point: &PointReport, target: f64, replicates: u64) -> String {
    let xs = point
        .strategies
        .iter()
        .flat_map(|s| s.checkpoints.iter().map(|c| c.labels as f64));
    let ys = point
        .strategies
        .iter()
        .flat_map(|s| s.checkpoints.iter().map(|c| c.mse.mean))
        .chain(std::iter::once(target));
    let (Some(x), Some(y)) = (Axis::tight_log(xs), Axis::new(ys, true)) else {
        return String::new();
    };
    let title = match point.rho {
        Some(r) => format!("MSE against labels, rho = {}", fmt(r)),
        None => "MSE against labels".to_string(),
    };
    let mut chart = Chart::new(x, y, "labels", "mean ‖ŵ − w*‖²", &title);
    // 95% bands of the mean over replicates (mean ± 1.96·sd/√R), drawn under every line.
    let half = 1.96 / (replicates.max(1) as f64).sqrt();
    for (k, s) in point.strategies.iter().enumerate() {
        let low: Vec<(f64, f64)> = s
            .checkpoints
            .iter()
            .map(|c| {
                let lo = c.mse.mean - half * c.mse.sd;
                // On a log axis a band cannot reach 0: it stops a decade below the mean.
                (c.labels as f64, lo.max(c.mse.mean / 10.0))
            })
            .collect();
        let high: Vec<(f64, f64)> = s
            .checkpoints
            .iter()
            .map(|c| (c.labels as f64, c.mse.mean + half * c.mse.sd))
            .collect();
        chart.band(k, &low, &high);
    }
    for (k, s) in point.strategies.iter().enumerate() {
        let pts: Vec<(f64, f64)> = s
            .checkpoints
            .iter()
            .map(|c| (c.labels as f64, c.mse.mean))
            .collect();
        chart.series(k, &s.strategy, &pts, false, true);
    }
    let k = point.strategies.len();
    let line = [(chart.x.lo, target), (chart.x.hi, target)];
    chart.series(k, "target", &line, true, false);
    chart.finish()
}

fn sweep_chart(rows: &[SweepRow]) -> String {
    let xs = rows.iter().map(|r| r.rho);
    let ys = rows
        .iter()
        .flat_map(|r| {
            [
                r.measured_ratio,
                r.predicted_ratio,
                Some(r.inverse_one_minus_rho2),
            ]
        })
        .flatten();
    let (Some(mut x), Some(y)) = (Axis::new(xs, false), Axis::new(ys, true)) else {
        return String::new();
    };
    x.lo = x.lo.min(0.0);
    x.hi = 1.0;
    let mut chart = Chart::new(
        x,
        y,
        "rho (passive correlation)",
        "labels: passive / best active",
        "labels-to-target ratio against rho",
    );
    let measured: Vec<(f64, f64)> = rows
        .iter()
        .filter_map(|r| r.measured_ratio.map(|m| (r.rho, m)))
        .collect();
    let predicted: Vec<(f64, f64)> = rows
        .iter()
        .filter_map(|r| r.predicted_ratio.map(|m| (r.rho, m)))
        .collect();
    let hi = rows.iter().map(|r| r.rho).fold(0.0f64, f64::max);
    let curve: Vec<(f64, f64)> = (0..=200)
        .map(|i| {
            let rho = x.lo + (hi - x.lo) * i as f64 / 200.0;
            (rho, 1.0 / (1.0 - rho * rho))
        })
        .collect();
    chart.series(0, "measured", &measured, false, true);
    chart.series(1, "predicted (exact I)", &predicted, true, true);
    chart.series(2, "1/(1 − ρ²)", &curve, false, false);
    chart.finish()
}

fn point_table(point: &PointReport) -> String {
    let mut out = String::from(
        "<table><thead><tr><th>strategy</th><th>labels</th><th>MSE (mean ± sd)</th><th>λ̂_min</th><th>crossed share</th><th>OOD sign error</th><th>cost</th><th>labels to target</th><th>final mixture</th></tr></thead><tbody>",
    );
    for s in &point.strategies {
        let Some(last) = s.checkpoints.last() else {
            continue;
        };
        let ltt = match &s.labels_to_target {
            Some(l) => format!(
                "{}{}",
                fmt(l.labels.round()),
                if l.method == Method::Extrapolated {
                    " (extrapolated)"
                } else {
                    ""
                }
            ),
            None => "—".into(),
        };
        let mix: Vec<String> = s
            .final_shares
            .iter()
            .filter(|(_, v)| **v > 0.0005)
            .map(|(a, v)| format!("{} {}", xml_attr(a), fmt(*v)))
            .collect();
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{} ± {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            xml_attr(&s.strategy),
            last.labels,
            fmt(last.mse.mean),
            fmt(last.mse.sd),
            fmt(last.lambda_min.mean),
            fmt(last.crossed_share.mean),
            fmt(last.ood_sign_error.mean),
            fmt(last.cost.mean),
            ltt,
            mix.join(", ")
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// The HTML page of a report.
pub fn render(report: &SimReport) -> String {
    let s = &report.settings;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>overlap simulate — {name}</title>
<style>body{{font-family:sans-serif;max-width:980px;margin:2em auto;color:#222}}table{{border-collapse:collapse;margin:1em 0;font-size:13px}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}code{{background:#f4f4f4;padding:1px 3px}}.takeaway{{font-size:16px;background:#f3f7fb;border-left:4px solid #0072B2;padding:6px 10px}}.note{{font-size:12px;color:#555}}</style>
</head><body>
<h1>Simulation: {name}</h1>
<p>{description}</p>
<p>Strategies {strategies}; {labels} labels in batches of {batch}; {replicates} replicates; seed {seed}; target MSE {target}; overlap {version}.</p>
"#,
        name = xml_attr(&report.scenario.name),
        description = xml_attr(report.scenario.description.as_deref().unwrap_or("")),
        strategies = xml_attr(&s.strategies.join(", ")),
        labels = s.labels,
        batch = s.batch,
        replicates = s.replicates,
        seed = s.seed,
        target = fmt(s.target_mse),
        version = xml_attr(&report.tool_version),
    );
    if let Some(rows) = &report.sweep {
        out.push_str("<h2>Passive versus active across rho</h2>\n");
        out.push_str(&sweep_chart(rows));
        out.push_str("<table><thead><tr><th>rho</th><th>passive labels</th><th>best active</th><th>its labels</th><th>ratio</th><th>predicted</th><th>1/(1 − ρ²)</th></tr></thead><tbody>");
        for r in rows {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td></tr>",
                fmt(r.rho),
                r.passive_labels.map_or("—".into(), |v| fmt(v.round())),
                xml_attr(r.best_active.as_deref().unwrap_or("—")),
                r.best_active_labels.map_or("—".into(), |v| fmt(v.round())),
                r.measured_ratio.map_or("—".into(), fmt),
                if r.extrapolated {
                    " (extrapolated)"
                } else {
                    ""
                },
                r.predicted_ratio.map_or("—".into(), fmt),
                fmt(r.inverse_one_minus_rho2)
            );
        }
        out.push_str("</tbody></table>\n");
    }
    for point in &report.points {
        match point.rho {
            Some(r) => {
                let _ = writeln!(out, "<h2>rho = {}</h2>", fmt(r));
            }
            None => out.push_str("<h2>Results</h2>\n"),
        }
        out.push_str(&takeaway(point, s.target_mse));
        out.push_str(&mse_chart(point, s.target_mse, s.replicates));
        out.push_str(
            "<p class=\"note\">Bands: 95% intervals of the mean over the replicates.</p>\n",
        );
        out.push_str(&point_table(point));
        out.push('\n');
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_numbers_have_fixed_precision() {
        assert_eq!(xml_attr("<a & 'b'>"), "&lt;a &amp; 'b'&gt;");
        assert_eq!(fmt(0.0123456), "0.01235");
        assert_eq!(fmt(1234.4), "1234");
        assert_eq!(fmt(f64::NAN), "—");
        assert_eq!(fmt(0.5), "0.5");
        assert_eq!(fmt(636.0), "636");
        assert_eq!(fmt(0.0100), "0.01");
    }

    #[test]
    fn a_tight_log_axis_stops_where_the_data_stops() {
        let a = Axis::tight_log([250.0, 5000.0].into_iter()).unwrap();
        assert_eq!((a.lo, a.hi), (250.0, 5000.0));
        assert_eq!(a.ticks(), vec![500.0, 1000.0, 2000.0, 5000.0]);
    }

    #[test]
    fn log_axes_round_to_decades() {
        let a = Axis::new([0.002, 0.3].into_iter(), true).unwrap();
        assert_eq!((a.lo, a.hi), (0.001, 1.0));
        assert_eq!(a.ticks().len(), 4);
        assert!((a.unit(0.01) - 1.0 / 3.0).abs() < 1e-12);
    }
}
