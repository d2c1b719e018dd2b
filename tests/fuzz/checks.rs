//! What each fuzz target checks. The targets in `fuzz_targets/` run these under libFuzzer
//! (`bash tests/fuzz/run.sh SECONDS`); `tests/fuzz_regressions.rs` runs the same functions over
//! every saved seed and every input that once crashed, as an ordinary test.
//!
//! Beyond "no panic, no endless loop", the form-body check has an oracle for escaping: a page
//! built from the parsed values has exactly as many `<`, `>`, `"` and `'` as the same page
//! built from the values with those characters replaced by `x`. So no value, however odd, can
//! add markup or leave an attribute.

#![allow(dead_code)]

use beian_functions::forms::{FormDef, Forms};
use beian_functions::import;
use beian_functions::pages;
use beian_functions::store::{AuditStamp, Channel, Record};
use beian_functions::submission::{self, Row, Submission, Value};
use beian_functions::validation::{self, Accepted, Outcome};
use beian_site::frontmatter::{self, PageFrontMatter, SectionFrontMatter};
use beian_site::markdown;
use beian_site::shortcode::{self, Kind};
use chrono::NaiveDate;

/// A fixed day, so a run is repeatable whatever the date.
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 15).expect("a valid date")
}

/// Front matter (both kinds), shortcodes and markdown of one content file.
pub fn front_matter_markdown(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let body = match frontmatter::split(text) {
        Ok((front, body)) => {
            let _ = frontmatter::parse::<PageFrontMatter>(front);
            let _ = frontmatter::parse::<SectionFrontMatter>(front);
            body
        }
        Err(_) => text,
    };
    let kind_of = |name: &str| match name {
        "note" => Some(Kind::Markdown),
        "video" | "flowchart" => Some(Kind::Html),
        _ => None,
    };
    let mut render = |call: &shortcode::Call| Ok(format!("<aside>{}</aside>", call.args.len()));
    let expanded = shortcode::expand(body, &kind_of, &mut render);
    let source = match &expanded {
        Ok(expanded) => expanded.markdown.as_str(),
        Err(_) => body,
    };
    let rendered = markdown::render(source, "/guide/page/", &|path| {
        (!path.is_empty()).then(|| format!("/{path}/"))
    });
    if let Ok(expanded) = &expanded {
        let _ = shortcode::restore(&rendered.html, &expanded.html);
    }
    let _ = markdown::plain_text(&rendered.html);
    let _ = markdown::render_fragment(text, true);
}

/// A form body: byte 0 picks the form (low bits) and the encoding (high bit: JSON), the rest
/// is the body. Parsed, checked, and every page that can show it built, with the escaping
/// oracle above.
pub fn form_body(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let forms: Vec<&FormDef> = Forms::embedded().by_id.values().collect();
    let def = forms[(selector & 0x7f) as usize % forms.len()];
    let path = format!("/api/forms/{}", def.id);
    let parsed = if selector & 0x80 == 0 {
        submission::from_form(def, body).map(|(s, _)| s)
    } else {
        submission::from_json(def, body)
    };
    let Ok(entered) = parsed else {
        return;
    };
    let plain = sanitized(&entered);
    match validation::check(def, &entered, today()) {
        Outcome::Rejected(errors) => same_markup(
            &pages::form_page(def, &entered, &errors, &path),
            &pages::form_page(def, &plain, &errors, &path),
            "form page",
        ),
        Outcome::Exempt(message) => {
            let _ = pages::exempt_page(def, &message);
        }
        Outcome::Accepted(accepted) => {
            let plain_accepted = sanitized_accepted(&accepted);
            same_markup(
                &pages::review_page(def, &entered, &accepted, "KEY", &path),
                &pages::review_page(def, &plain, &plain_accepted, "KEY", &path),
                "review page",
            );
            same_markup(
                &pages::receipt_page(Some(def), &record(def, accepted.to_json()), true),
                &pages::receipt_page(Some(def), &record(def, plain_accepted.to_json()), true),
                "confirmation",
            );
        }
    }
}

/// A spreadsheet upload for the staff-filing form: read as XLSX, XLS or CSV in any encoding,
/// its rows checked; a report has a submission exactly when it has no problem.
pub fn spreadsheet_import(data: &[u8]) {
    let Some(def) = Forms::embedded().get("staff-filing") else {
        return;
    };
    let Some(group) = def.group("staff") else {
        return;
    };
    let labels: Vec<&str> = group.fields.iter().map(|f| f.label.as_str()).collect();
    let Ok(table) = import::read_table(data, &labels) else {
        return;
    };
    let mut unit = Submission::default();
    for field in def.fields() {
        if let Some(example) = &field.example {
            unit.fields
                .insert(field.key.clone(), Value::One(example.clone()));
        }
    }
    let report = import::import_rows(def, "staff", &unit, &table, today());
    assert_eq!(
        report.accepted.is_some(),
        report.problems.is_empty(),
        "checked rows come back exactly when there is no problem"
    );
    assert!(report.problems.iter().all(|p| !p.message.is_empty()));
}

/// Panics unless two pages have the same number of each markup character.
fn same_markup(page: &str, plain: &str, what: &str) {
    for c in ['<', '>', '"', '\''] {
        assert_eq!(
            page.matches(c).count(),
            plain.matches(c).count(),
            "{what}: a value changed the markup ({c:?})"
        );
    }
}

/// The text with every markup character replaced by `x`.
fn plain_text(text: &str) -> String {
    text.chars()
        .map(|c| {
            if matches!(c, '<' | '>' | '"' | '\'') {
                'x'
            } else {
                c
            }
        })
        .collect()
}

fn plain_value(value: &Value) -> Value {
    match value {
        Value::One(s) => Value::One(plain_text(s)),
        Value::Many(list) => Value::Many(list.iter().map(|s| plain_text(s)).collect()),
    }
}

fn plain_row(row: &Row) -> Row {
    row.iter()
        .map(|(k, v)| (k.clone(), plain_value(v)))
        .collect()
}

fn sanitized(entered: &Submission) -> Submission {
    Submission {
        fields: plain_row(&entered.fields),
        groups: entered
            .groups
            .iter()
            .map(|(k, rows)| (k.clone(), rows.iter().map(plain_row).collect()))
            .collect(),
        overrides: entered
            .overrides
            .iter()
            .map(|(k, v)| (k.clone(), plain_text(v)))
            .collect(),
    }
}

fn sanitized_accepted(accepted: &Accepted) -> Accepted {
    Accepted {
        fields: plain_row(&accepted.fields),
        groups: accepted
            .groups
            .iter()
            .map(|(k, rows)| (k.clone(), rows.iter().map(plain_row).collect()))
            .collect(),
        warnings: accepted.warnings.clone(),
        overrides: accepted.overrides.clone(),
    }
}

fn record(def: &FormDef, data: serde_json::Value) -> Record {
    Record {
        reference: "K7QM-3XRT-9HAP".into(),
        form_id: def.id.clone(),
        version: 1,
        status: "已受理".into(),
        data,
        audit: AuditStamp {
            agency: "内蒙古自治区劳动用工备案网站".into(),
            handler: "网上自助".into(),
            time: "2026-12-15T10:00:00.000+08:00".into(),
            channel: Channel::Online,
            request_id: "fuzz".into(),
            source_ip: "127.0.0.1".into(),
            form_version: def.version,
            content_sha256: String::new(),
        },
        idempotency_key: None,
        batch: None,
    }
}
