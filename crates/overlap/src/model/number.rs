//! How numbers are written for people: one formatter for reports, plans and messages, so one value
//! prints the same everywhere it appears.

/// Four significant digits (fixed notation from 0.001 to 10⁶, else scientific); `n/a` for NaN, `∞` for infinities (callers print `—` for
/// a missing value).
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
    if (1e-3..1e6).contains(&a) {
        let digits = (3 - a.log10().floor() as i32).clamp(0, 6) as usize;
        let s = format!("{x:.digits$}");
        // Integers print without a fraction (n, counts).
        if x.fract() == 0.0 && a < 1e6 {
            return format!("{x:.0}");
        }
        s
    } else {
        format!("{x:.3e}")
    }
}

#[cfg(test)]
mod tests {
    use super::format_number;

    #[test]
    fn four_significant_digits_and_exact_zero() {
        assert_eq!(format_number(0.0), "0");
        assert_eq!(format_number(0.12204), "0.1220");
        assert_eq!(format_number(709.34), "709.3");
        assert_eq!(format_number(12.0), "12");
        assert_eq!(format_number(4.883e-4), "4.883e-4");
        assert_eq!(format_number(f64::INFINITY), "∞");
    }
}
