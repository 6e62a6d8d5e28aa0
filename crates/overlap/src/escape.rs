//! Escaping, one function per target language and context, used by every writer of that language:
//! XML/SVG/HTML (text and attribute values), Markdown (inline text, code spans and table cells),
//! GitHub workflow commands (message data and properties) and terminals (human output).
//!
//! Data reaching these outputs (bucket, feature, rule, arm and policy names, reasons, notes) is
//! user-supplied, so every function here also neutralises control characters: nothing a user
//! types can start markup, break a table row or inject a line into a CI log.

/// Escapes XML/HTML text content. Line breaks and tabs stay; the other characters XML 1.0 cannot
/// hold (C0 controls, U+FFFE, U+FFFF) are dropped.
pub fn xml_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' | '\t' | '\r' => out.push(c),
            c if xml_forbidden(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// Escapes a double-quoted XML/HTML/SVG attribute value (safe in text content too): `"` and line
/// breaks as character references, which attribute normalisation would otherwise turn into
/// spaces. Every attribute this tool writes is double-quoted, so `'` stays as it is.
pub fn xml_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if xml_forbidden(c) => {}
            c => out.push(c),
        }
    }
    out
}

fn xml_forbidden(c: char) -> bool {
    (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}'
}

/// Escapes Markdown inline text and table cells: backslash-escapes the characters that start
/// markup or HTML, and turns line breaks into spaces so a value cannot break a table.
pub fn markdown_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '!' | '&' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Makes text safe in a Markdown table cell that is not backslash-escaped text (e.g. inside a code
/// span, where backslashes would show): no pipes, no line breaks, no raw HTML.
pub fn markdown_cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("\\|"),
            '\n' | '\r' => out.push(' '),
            c if c.is_control() && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// Characters that change what a terminal or an editor shows without being seen: C0 and C1
/// controls (ESC starts terminal sequences, BEL rings, line breaks start new log lines), DEL and
/// the bidirectional overrides and isolates ("Trojan source").
pub fn is_hidden(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Makes one value safe to print on a terminal line: every hidden character (see [`is_hidden`])
/// is shown as a `\u{…}` escape, so a name can neither move the cursor nor start a new line.
pub fn terminal(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(is_hidden) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_hidden(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A complete Markdown code span holding `s` literally: the fence is one backtick longer than the
/// longest run inside, padded with spaces when `s` starts or ends with a backtick (CommonMark), and
/// the content is made safe for a table cell.
pub fn markdown_code(s: &str) -> String {
    let content = markdown_cell(s);
    let mut longest = 0;
    let mut run = 0;
    for c in content.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if content.starts_with('`') || content.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{content}{pad}{fence}")
}

/// Escapes the message of a GitHub workflow command (`::warning ...::MESSAGE`): `%`, CR and LF
/// are percent-encoded so a value cannot end the command or start another one.
pub fn github_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value of a GitHub workflow command (`title=...,file=...`).
pub fn github_property(s: &str) -> String {
    github_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml() {
        assert_eq!(
            xml_attr("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert('x')&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(xml_attr("a<b & \"c\"\n"), "a&lt;b &amp; &quot;c&quot;&#10;");
        assert_eq!(xml_text("x\u{1}y\nz"), "xy\nz");
        assert_eq!(xml_attr("x\u{1b}[31my"), "x[31my");
    }

    #[test]
    fn markdown() {
        assert_eq!(
            markdown_text("<script>a|b</script>\nnext"),
            "\\<script\\>a\\|b\\</script\\> next"
        );
        assert_eq!(markdown_text("self-harm"), "self-harm");
        assert_eq!(markdown_cell("a|b<c>\nd"), "a\\|b&lt;c&gt; d");
    }

    #[test]
    fn terminal_shows_hidden_characters_as_escapes() {
        assert_eq!(terminal("self-harm"), "self-harm");
        assert_eq!(terminal("a\u{1b}[2Jb\u{7}\nc"), "a\\u{1b}[2Jb\\u{7}\\u{a}c");
        assert_eq!(terminal("x\u{202e}y"), "x\\u{202e}y");
        assert!(matches!(terminal("plain"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn markdown_code_spans_hold_backticks() {
        assert_eq!(markdown_code("name"), "`name`");
        assert_eq!(markdown_code("a`b"), "``a`b``");
        assert_eq!(markdown_code("`x``"), "``` `x`` ```");
        assert_eq!(markdown_code("a|b\nc"), "`a\\|b c`");
    }

    #[test]
    fn github() {
        assert_eq!(github_data("50%\nnext"), "50%25%0Anext");
        assert_eq!(github_property("a:b,c"), "a%3Ab%2Cc");
    }
}
