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
        Some(Axis { lo, hi, log })
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

    /// A series as a polyline (with markers when `markers`), and its legend entry at slot `k`.
    fn series(&mut self, k: usize, name: &str, points: &[(f64, f64)], dashed: bool, markers: bool) {
        let colour = SERIES[k % SERIES.len()];
        let pts: Vec<String> = points
            .iter()
            .filter(|(x, y)| self.visible(*x, *y))
            .map(|(x, y)| format!("{:.1},{:.1}", self.px(*x), self.py(*y)))
            .collect();
        let dash = if dashed {
            r#" stroke-dasharray="5 4""#
        } else {
            ""
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
                    let _ = write!(
                        self.svg,
                        r#"<circle cx="{x}" cy="{y}" r="3" fill="{colour}"/>"#
                    );
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
    }

    fn finish(mut self) -> String {
        self.svg.push_str("</svg>");
        self.svg
    }
}

fn mse_chart(point: &PointReport, target: f64) -> String {
    let xs = point
        .strategies
        .iter()
        .flat_map(|s| s.checkpoints.iter().map(|c| c.labels as f64));
    let ys = point
        .strategies
        .iter()
        .flat_map(|s| s.checkpoints.iter().map(|c| c.mse.mean))
        .chain(std::iter::once(target));
    let (Some(x), Some(y)) = (Axis::new(xs, true), Axis::new(ys, true)) else {
        return String::new();
    };
    let title = match point.rho {
        Some(r) => format!("MSE against labels, rho = {}", fmt(r)),
        None => "MSE against labels".to_string(),
    };
    let mut chart = Chart::new(x, y, "labels", "mean ‖ŵ − w*‖²", &title);
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
<style>body{{font-family:sans-serif;max-width:980px;margin:2em auto;color:#222}}table{{border-collapse:collapse;margin:1em 0;font-size:13px}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}code{{background:#f4f4f4;padding:1px 3px}}</style>
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
        out.push_str(&mse_chart(point, s.target_mse));
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
    fn log_axes_round_to_decades() {
        let a = Axis::new([0.002, 0.3].into_iter(), true).unwrap();
        assert_eq!((a.lo, a.hi), (0.001, 1.0));
        assert_eq!(a.ticks().len(), 4);
        assert!((a.unit(0.01) - 1.0 / 3.0).abs() < 1e-12);
    }
}
