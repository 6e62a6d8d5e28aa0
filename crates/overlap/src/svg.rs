//! The SVG kit shared by the report charts (`report::charts`) and the simulation page
//! (`simulate::html`): one palette and one opening tag, so every chart the tool draws looks and
//! reads alike. Text from data goes through [`crate::escape::xml_attr`]; numbers through
//! [`crate::model::number::format_number`] or fixed-precision coordinates.

use std::fmt::Write as _;

use crate::escape::xml_attr;

/// Okabe–Ito colours: distinguishable with the common colour-vision deficiencies and in greyscale
/// print (blue and vermillion differ in lightness).
pub const BLUE: &str = "#0072B2";
pub const ORANGE: &str = "#E69F00";
pub const VERMILLION: &str = "#D55E00";
pub const GREY: &str = "#7f7f7f";
pub const TRACK: &str = "#eeeeee";
pub const INK: &str = "#222222";
pub const GRID: &str = "#dddddd";
/// Series colours in the order they are assigned.
pub const SERIES: [&str; 7] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
];

/// Opens an `<svg>` element with its accessible title; the caller closes it with `</svg>`.
/// No fonts, images or scripts: text uses the reader's generic sans-serif font.
pub fn open(out: &mut String, width: f64, height: f64, title: &str) {
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\" \
         width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" \
         font-family=\"sans-serif\" font-size=\"11\" fill=\"{INK}\">\
         <title>{}</title>",
        xml_attr(title)
    );
}
