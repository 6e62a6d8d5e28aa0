//! The weakest direction in feature words, e.g. "mostly +length −refusal".

/// Share of the direction's squared norm the named features must cover to say "mostly".
const MOSTLY: f64 = 0.8;
/// At most this many features are named.
const MAX_NAMED: usize = 3;

/// Describes a unit vector by its largest loadings: "mostly +length −refusal" when up to three
/// features carry at least 80% of it, otherwise "spread: +a −b +c …".
pub fn direction_in_words(features: &[String], v: &[f64]) -> String {
    let mut idx: Vec<usize> = (0..v.len().min(features.len())).collect();
    // Largest magnitude first; ties by schema order so the text is deterministic.
    idx.sort_by(|&a, &b| v[b].abs().total_cmp(&v[a].abs()).then(a.cmp(&b)));
    let total: f64 = v.iter().map(|x| x * x).sum();
    if total <= 0.0 || idx.is_empty() {
        return "no direction".to_string();
    }
    let mut covered = 0.0;
    let mut named = Vec::new();
    for &j in idx.iter().take(MAX_NAMED) {
        if v[j] == 0.0 {
            break;
        }
        covered += v[j] * v[j];
        named.push(format!(
            "{}{}",
            if v[j] > 0.0 { "+" } else { "−" },
            features[j]
        ));
        if covered / total >= MOSTLY {
            return format!("mostly {}", named.join(" "));
        }
    }
    format!("spread: {} …", named.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_dominant_loadings() {
        let f: Vec<String> = ["length", "refusal", "list"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let s = std::f64::consts::FRAC_1_SQRT_2;
        assert_eq!(
            direction_in_words(&f, &[s, -s, 0.0]),
            "mostly +length −refusal"
        );
        assert_eq!(direction_in_words(&f, &[0.1, 0.0, 0.99]), "mostly +list");
        assert_eq!(
            direction_in_words(&f, &[0.6, 0.6, 0.53]),
            "mostly +length +refusal +list"
        );
        let g: Vec<String> = (0..5).map(|i| format!("f{i}")).collect();
        assert_eq!(direction_in_words(&g, &[0.45; 5]), "spread: +f0 +f1 +f2 …");
    }
}
