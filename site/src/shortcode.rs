//! Zola shortcodes in markdown: `{{ name(key="v") }}` and `{% name() %}body{% end %}`.
//!
//! HTML shortcode output is swapped for a placeholder before markdown runs, so markdown
//! never rewrites it, and put back afterwards.

use anyhow::{bail, Result};
use serde_json::{Map, Number, Value};

/// Marks the start of a placeholder; a private-use character markdown leaves alone.
const OPEN: char = '\u{E000}';
/// Marks the end of a placeholder.
const CLOSE: char = '\u{E001}';

/// What a shortcode template produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `shortcodes/NAME.html`: HTML, kept away from markdown.
    Html,
    /// `shortcodes/NAME.md`: markdown, rendered with the page.
    Markdown,
}

/// One shortcode call found in a page.
#[derive(Debug, Clone)]
pub struct Call {
    /// The shortcode's name.
    pub name: String,
    /// Its arguments.
    pub args: Map<String, Value>,
    /// The text between `{% name() %}` and `{% end %}`, for body shortcodes.
    pub body: Option<String>,
    /// How many times this name has been called in the page so far, from 1.
    pub nth: usize,
}

/// Markdown with shortcodes replaced, and the HTML each placeholder stands for.
#[derive(Debug, Default)]
pub struct Expanded {
    /// The markdown to render.
    pub markdown: String,
    /// HTML for placeholder `n`.
    pub html: Vec<String>,
}

/// Replaces every shortcode call in `source` with its output. `kind_of` tells which names
/// are shortcodes; other `{{ … }}` text is left alone.
pub fn expand(
    source: &str,
    kind_of: &dyn Fn(&str) -> Option<Kind>,
    render: &mut dyn FnMut(&Call) -> Result<String>,
) -> Result<Expanded> {
    let mut out = Expanded {
        markdown: String::with_capacity(source.len()),
        html: Vec::new(),
    };
    if !source.contains("{{") && !source.contains("{%") {
        out.markdown.push_str(source);
        return Ok(out);
    }
    let mut counts: std::collections::HashMap<String, usize> = Default::default();
    let mut rest = source;
    while let Some(at) = rest.find(['{']) {
        out.markdown.push_str(&rest[..at]);
        let here = &rest[at..];
        if let Some(after) = here.strip_prefix("{{/*") {
            if let Some(end) = after.find("*/}}") {
                out.markdown.push_str("{{");
                out.markdown.push_str(&after[..end]);
                out.markdown.push_str("}}");
                rest = &after[end + 4..];
                continue;
            }
        }
        if let Some(after) = here.strip_prefix("{%/*") {
            if let Some(end) = after.find("*/%}") {
                out.markdown.push_str("{%");
                out.markdown.push_str(&after[..end]);
                out.markdown.push_str("%}");
                rest = &after[end + 4..];
                continue;
            }
        }
        let Some((call, used)) = parse_call(here, kind_of)? else {
            out.markdown.push('{');
            rest = &here[1..];
            continue;
        };
        let mut call = call;
        let count = counts.entry(call.name.clone()).or_insert(0);
        *count += 1;
        call.nth = *count;
        let rendered = render(&call)?;
        match kind_of(&call.name) {
            Some(Kind::Markdown) => out.markdown.push_str(&rendered),
            _ => {
                out.markdown.push_str(&placeholder(out.html.len()));
                out.html.push(rendered);
            }
        }
        rest = &here[used..];
    }
    out.markdown.push_str(rest);
    Ok(out)
}

fn placeholder(n: usize) -> String {
    format!("{OPEN}{n}{CLOSE}")
}

/// Puts shortcode HTML back in place of its placeholders in rendered HTML. A placeholder
/// alone in a paragraph replaces the whole paragraph, so block HTML is not wrapped in `<p>`.
pub fn restore(html: &str, fragments: &[String]) -> String {
    if fragments.is_empty() {
        return html.to_string();
    }
    let mut out =
        String::with_capacity(html.len() + fragments.iter().map(String::len).sum::<usize>());
    let mut rest = html;
    while let Some(at) = rest.find(OPEN) {
        let mut head = &rest[..at];
        let tail = &rest[at + OPEN.len_utf8()..];
        let Some(end) = tail.find(CLOSE) else { break };
        let Ok(n) = tail[..end].parse::<usize>() else {
            break;
        };
        let mut after = &tail[end + CLOSE.len_utf8()..];
        if head.ends_with("<p>") && after.starts_with("</p>") {
            head = &head[..head.len() - 3];
            after = after[4..].trim_start_matches('\n');
        }
        out.push_str(head);
        out.push_str(fragments.get(n).map(String::as_str).unwrap_or(""));
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Parses a call at the start of `text`; gives the call and how many bytes it used.
fn parse_call(text: &str, kind_of: &dyn Fn(&str) -> Option<Kind>) -> Result<Option<(Call, usize)>> {
    let (is_body, inner_start) = if text.starts_with("{{") {
        (false, 2)
    } else if text.starts_with("{%") {
        (true, 2)
    } else {
        return Ok(None);
    };
    let close = if is_body { "%}" } else { "}}" };
    let mut cursor = Cursor {
        text,
        pos: inner_start,
    };
    cursor.skip_space();
    let name = cursor.ident();
    if name.is_empty() || name == "end" {
        return Ok(None);
    }
    if kind_of(&name).is_none() {
        return unknown_call(&mut cursor, &name, close);
    }
    cursor.skip_space();
    if !cursor.eat("(") {
        return Ok(None);
    }
    let args = cursor
        .args()
        .map_err(|e| anyhow::anyhow!("短代码 `{name}` 的参数有误：{e}"))?;
    cursor.skip_space();
    if !cursor.eat(close) {
        bail!("短代码 `{name}` 没有以 `{close}` 结束：请检查括号和引号是否成对");
    }
    let mut used = cursor.pos;
    let mut body = None;
    if is_body {
        let rest = &text[used..];
        let Some((end_at, end_len)) = find_end_tag(rest) else {
            bail!("带正文的短代码 `{name}` 缺少 `{{% end %}}`：请在正文之后加上");
        };
        body = Some(rest[..end_at].trim_matches('\n').to_string());
        used += end_at + end_len;
    }
    Ok(Some((
        Call {
            name,
            args,
            body,
            nth: 0,
        },
        used,
    )))
}

/// A call of a name that has no template: an error when it is written like a shortcode
/// call (so a typo is not published as raw text), left alone otherwise.
fn unknown_call(cursor: &mut Cursor<'_>, name: &str, close: &str) -> Result<Option<(Call, usize)>> {
    cursor.skip_space();
    if !cursor.eat("(") || cursor.args().is_err() {
        return Ok(None);
    }
    cursor.skip_space();
    if !cursor.eat(close) {
        return Ok(None);
    }
    bail!(
        "找不到短代码 `{name}`：templates/shortcodes/ 中没有 {name}.html 或 {name}.md。\
         请检查名字；如要原样显示，请写成 {{{{/* {name}(…) */}}}}"
    )
}

fn find_end_tag(text: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(at) = text[from..].find("{%") {
        let start = from + at;
        let inner = &text[start + 2..];
        let trimmed = inner.trim_start();
        if let Some(after) = trimmed.strip_prefix("end") {
            let after_trim = after.trim_start();
            if after_trim.starts_with("%}") {
                let consumed = 2 + (inner.len() - after_trim.len()) + 2;
                return Some((start, consumed));
            }
        }
        from = start + 2;
    }
    None
}

struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, token: &str) -> bool {
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn ident(&mut self) -> String {
        let rest = self.rest();
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        self.pos += len;
        rest[..len].to_string()
    }

    fn args(&mut self) -> std::result::Result<Map<String, Value>, String> {
        let mut args = Map::new();
        loop {
            self.skip_space();
            if self.eat(")") {
                return Ok(args);
            }
            let key = self.ident();
            if key.is_empty() {
                return Err("参数应写成 名称=值，例如 src=\"flow.toml\"".into());
            }
            self.skip_space();
            if !self.eat("=") {
                return Err(format!("参数 `{key}` 后面缺少 `=`"));
            }
            self.skip_space();
            let value = self.value()?;
            args.insert(key, value);
            self.skip_space();
            if !self.eat(",") && !self.rest().starts_with(')') {
                return Err("参数之间要用英文逗号分隔".into());
            }
        }
    }

    fn value(&mut self) -> std::result::Result<Value, String> {
        let rest = self.rest();
        let first = rest.chars().next().ok_or("参数值缺失")?;
        match first {
            '"' | '\'' | '`' => {
                let body = &rest[1..];
                let end = body.find(first).ok_or("字符串缺少结束引号")?;
                self.pos += end + 2;
                Ok(Value::String(body[..end].to_string()))
            }
            '[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_space();
                    if self.eat("]") {
                        return Ok(Value::Array(items));
                    }
                    items.push(self.value()?);
                    self.skip_space();
                    self.eat(",");
                }
            }
            _ => {
                let len = rest
                    .find(|c: char| c == ',' || c == ')' || c.is_whitespace())
                    .unwrap_or(rest.len());
                let word = &rest[..len];
                self.pos += len;
                match word {
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    _ => {
                        if let Ok(n) = word.parse::<i64>() {
                            Ok(Value::Number(n.into()))
                        } else if let Some(n) = word.parse::<f64>().ok().and_then(Number::from_f64)
                        {
                            Ok(Value::Number(n))
                        } else {
                            Err(format!("无法识别的参数值 `{word}`：文字请加引号"))
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(name: &str) -> Option<Kind> {
        match name {
            "note" => Some(Kind::Html),
            "md" => Some(Kind::Markdown),
            _ => None,
        }
    }

    fn run(source: &str) -> Expanded {
        expand(source, &kinds, &mut |call| {
            Ok(format!(
                "<div>{}:{}:{:?}</div>",
                call.name, call.nth, call.body
            ))
        })
        .unwrap()
    }

    #[test]
    fn can_expand_inline_and_body_shortcodes() {
        let out = run("a {{ note(x=\"1\", n=2, ok=true, l=[1, \"b\"]) }} b\n\n{% note() %}\n正文\n{% end %}\n");
        assert_eq!(out.html.len(), 2);
        assert_eq!(out.html[0], "<div>note:1:None</div>");
        assert_eq!(out.html[1], "<div>note:2:Some(\"正文\")</div>");
        let restored = restore(
            "<p>a \u{E000}0\u{E001} b</p>\n<p>\u{E000}1\u{E001}</p>\n",
            &out.html,
        );
        assert_eq!(
            restored,
            "<p>a <div>note:1:None</div> b</p>\n<div>note:2:Some(\"正文\")</div>"
        );
    }

    #[test]
    fn leaves_unknown_names_and_escapes_alone() {
        let out = run("{{ page.title }} {{/* note() */}} {x} {{ nosuch }}");
        assert_eq!(
            out.markdown,
            "{{ page.title }} {{ note() }} {x} {{ nosuch }}"
        );
    }

    #[test]
    fn errors_on_calls_of_unknown_shortcodes() {
        let err = expand("{{ nosuch(a=1) }}", &kinds, &mut |_| Ok(String::new())).unwrap_err();
        assert!(err.to_string().contains("nosuch"), "{err}");
    }

    #[test]
    fn errors_on_missing_end() {
        let err = expand("{% note() %} body", &kinds, &mut |_| Ok(String::new())).unwrap_err();
        assert!(err.to_string().contains("end"));
    }

    #[test]
    fn errors_on_bad_arguments() {
        let err = expand("{{ note(x=未加引号) }}", &kinds, &mut |_| {
            Ok(String::new())
        })
        .unwrap_err();
        assert!(err.to_string().contains("引号"), "{err}");
    }
}
