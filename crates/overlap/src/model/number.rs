//! How numbers are written for people: one formatter for the CLI, the gate's outputs, reports,
//! plans and the simulation page, so one value prints the same everywhere it appears.

/// Four significant digits without trailing zeros (fixed notation from 0.001 to 10⁶, else
/// scientific with four significant digits); whole numbers below 10¹⁵ (counts, budgets, thresholds
/// people wrote) print as integers. `n/a` for NaN, `∞`/`−∞` for infinities; callers print `—` for a
/// missing value ([`format_optional`]).
pub fn format_number(x: f64) -> String {
    if x.is_nan() {
        return "n/a".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "∞" } else { "−∞" }.to_owned();
    }
    if x == 0.0 {
        return "0".to_owned();
    }
    let a = x.abs();
    if x.fract() == 0.0 && a < 1e15 {
        return format!("{x:.0}");
    }
    if !(1e-3..1e6).contains(&a) {
        return format!("{x:.3e}");
    }
    // floor(log10 a) is in [-3, 5] here, so the cast is exact and the decimals are in [0, 6].
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
    let fixed = format!("{x:.decimals$}");
    if fixed.contains('.') {
        fixed.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        fixed
    }
}

/// [`format_number`], or `—` for a missing value.
pub fn format_optional(x: Option<f64>) -> String {
    x.map_or_else(|| "—".to_owned(), format_number)
}

#[cfg(test)]
mod tests {
    use super::{format_number, format_optional};

    #[test]
    fn four_significant_digits_without_trailing_zeros() {
        assert_eq!(format_number(0.0), "0");
        assert_eq!(format_number(0.12204), "0.122");
        assert_eq!(format_number(0.0867365755), "0.08674");
        assert_eq!(format_number(709.34), "709.3");
        assert_eq!(format_number(12.0), "12");
        assert_eq!(format_number(120.0), "120");
        assert_eq!(format_number(0.25), "0.25");
        assert_eq!(format_number(-0.0377), "-0.0377");
        assert_eq!(format_number(12.3456), "12.35");
        assert_eq!(format_number(4.883e-4), "4.883e-4");
        assert_eq!(format_number(1.5e-5), "1.500e-5");
        assert_eq!(format_number(2.5e7), "25000000");
        assert_eq!(format_number(2.5e7 + 0.5), "2.500e7");
        assert_eq!(format_number(f64::INFINITY), "∞");
        assert_eq!(format_number(f64::NEG_INFINITY), "−∞");
        assert_eq!(format_number(f64::NAN), "n/a");
        assert_eq!(format_optional(None), "—");
    }
}
