//! The HTML pages of the form flow: the form with its error summary, the review page
//! (核对信息), the confirmation and receipt, and message pages. They use the site's own
//! `base.html`, so the header, navigation and footer are the site's.
//!
//! The form itself is built here from the definition, and the site generator calls
//! `form_fragment` for the empty form, so the static page and the pages the handler
//! returns carry the same markup.

use std::collections::HashMap;
use std::fmt::Write as _;

use http::StatusCode;
use serde_json::{json, Value as Json};

use crate::forms::{Field, FieldKind, FormDef, Group};
use crate::store::{Batch, Record};
use crate::submission::{row_name, rows_of, Row, Submission, Value, HONEYPOT};
use crate::validate;
use crate::validation::{Accepted, FieldError};

const BASE_TEMPLATE: &str = include_str!("../../site/templates/base.html");
const HANDLER_TEMPLATE: &str = include_str!("../templates/handler.html");
const SITE_CONFIG: &str = include_str!("../../site/config.toml");

/// Escapes text for HTML content and attribute values; `/` is left alone (Tera's own
/// escaper turns it into `&#x2F;`, which mangles URLs).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

struct Shell {
    tera: tera::Tera,
    config: Json,
}

fn shell() -> &'static Shell {
    static SHELL: std::sync::OnceLock<Shell> = std::sync::OnceLock::new();
    SHELL.get_or_init(|| {
        let mut tera = tera::Tera::default();
        tera.add_raw_templates([
            ("base.html", BASE_TEMPLATE),
            ("handler.html", HANDLER_TEMPLATE),
        ])
        .expect("the site's base template parses");
        tera.autoescape_on(vec![".html"]);
        tera.set_escape_fn(escape);
        tera.register_function("get_url", |args: &HashMap<String, Json>| {
            let path = args.get("path").and_then(Json::as_str).unwrap_or("");
            Ok(Json::String(site_url(path)))
        });
        let config: toml::Value = toml::from_str(SITE_CONFIG).expect("site/config.toml parses");
        let config = serde_json::to_value(config).unwrap_or(Json::Null);
        Shell { tera, config }
    })
}

/// The URL of a content file (`@/guide/_index.md` → `/guide/`) or a static file.
pub fn site_url(path: &str) -> String {
    match path.strip_prefix("@/") {
        Some(content) => {
            let trimmed = content
                .trim_end_matches("_index.md")
                .trim_end_matches("index.md")
                .trim_end_matches(".md")
                .trim_end_matches('/');
            if trimmed.is_empty() {
                "/".into()
            } else {
                format!("/{trimmed}/")
            }
        }
        None => format!("/{}", path.trim_start_matches('/')),
    }
}

/// A whole page around `body` HTML.
pub(crate) fn page(title: &str, body: &str) -> String {
    let shell = shell();
    let mut ctx = tera::Context::new();
    ctx.insert("config", &shell.config);
    ctx.insert("title", title);
    ctx.insert("body", body);
    ctx.insert("current_url", "");
    ctx.insert("lang", "zh-CN");
    shell.tera.render("handler.html", &ctx).unwrap_or_else(|e| {
        format!("<!DOCTYPE html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>{}</title><main id=\"main\">{body}</main><!-- {} -->", escape(title), escape(&e.to_string()))
    })
}

/// How many empty rows a group shows before anything is entered.
pub fn blank_rows(group: &Group) -> usize {
    group.min_rows.max(1)
}

/// The id of a field's control, from its HTML name: `units[2].phone` → `f-units-2-phone`.
pub fn control_id(name: &str) -> String {
    let mut id = String::from("f-");
    for c in name.chars() {
        match c {
            '[' | '.' => id.push('-'),
            ']' => {}
            c => id.push(c),
        }
    }
    id
}

/// The full page with the form, errors (if any) listed at the top and repeated by each field.
pub fn form_page(
    def: &FormDef,
    submission: &Submission,
    errors: &[FieldError],
    action: &str,
) -> String {
    let mut body = String::new();
    let title = if errors.is_empty() {
        def.title.clone()
    } else {
        format!("错误：{}", def.title)
    };
    let _ = write!(
        body,
        "<div class=\"form-page\"><h1 class=\"form-page__title\">{}</h1>",
        escape(&def.title)
    );
    body.push_str(&form_fragment(def, submission, errors, action));
    body.push_str(&browser_data(def));
    body.push_str("</div>");
    page(&title, &body)
}

/// The definition and the division codes as JSON for `forms.js`, which checks the same
/// rules in the browser; `<` is escaped so no value can close the script element.
pub fn browser_data(def: &FormDef) -> String {
    let definition = serde_json::to_string(def)
        .unwrap_or_default()
        .replace('<', "\\u003c");
    let codes: Vec<&str> = validate::divisions().iter().map(|d| d.code).collect();
    let divisions = serde_json::to_string(&codes).unwrap_or_default();
    format!(
        "<script type=\"application/json\" id=\"form-definition\">{definition}</script>\
         <script type=\"application/json\" id=\"form-divisions\">{divisions}</script>"
    )
}

/// The form without the page around it: privacy notice, error summary, fields, buttons.
pub fn form_fragment(
    def: &FormDef,
    submission: &Submission,
    errors: &[FieldError],
    action: &str,
) -> String {
    let mut html = String::with_capacity(16 * 1024);
    let staff = action.starts_with("/api/staff/");
    if !errors.is_empty() {
        html.push_str(&error_summary(errors));
    }
    if let Some(summary) = &def.summary {
        let _ = write!(html, "<p class=\"form-page__lead\">{}</p>", escape(summary));
    }
    html.push_str(&privacy_notice(def));
    let _ = write!(
        html,
        "<p class=\"form-page__required-note\">标有“必填”的栏目必须填写，其余可以不填。</p>\
         <form class=\"form\" action=\"{}\" method=\"post\" accept-charset=\"utf-8\" novalidate data-form=\"{}\">",
        escape(action),
        escape(&def.id)
    );
    // The first submit button is the one Enter presses: make it "review", not a row button.
    html.push_str("<button type=\"submit\" name=\"_action\" value=\"review\" class=\"visually-hidden\" tabindex=\"-1\" aria-hidden=\"true\">下一步</button>");
    html.push_str(&single_fieldsets(def, submission, errors, staff));
    for group in &def.groups {
        html.push_str(&group_html(
            group,
            submission.rows(&group.key),
            errors,
            submission,
            staff,
        ));
    }
    let _ = write!(
        html,
        "<div class=\"form__honeypot\" aria-hidden=\"true\"><label for=\"f-{HONEYPOT}\">网址（请勿填写）</label>\
         <input type=\"text\" id=\"f-{HONEYPOT}\" name=\"{HONEYPOT}\" tabindex=\"-1\" autocomplete=\"off\"></div>\
         <div class=\"form__actions\"><button type=\"submit\" name=\"_action\" value=\"review\" class=\"button\">下一步：核对信息</button></div>\
         </form>"
    );
    html
}

/// The fieldsets of single fields, with values, errors and (for staff) override boxes.
fn single_fieldsets(
    def: &FormDef,
    submission: &Submission,
    errors: &[FieldError],
    staff: bool,
) -> String {
    let mut html = String::new();
    for set in &def.fieldsets {
        let _ = write!(
            html,
            "<fieldset class=\"form__section\"><legend class=\"form__legend\">{}</legend>",
            escape(&set.title)
        );
        for field in &set.fields {
            html.push_str(&field_html(
                field,
                &field.key,
                &field.label,
                submission.fields.get(&field.key),
                errors,
            ));
            html.push_str(&override_input(
                field, &field.key, submission, errors, staff,
            ));
        }
        html.push_str("</fieldset>");
    }
    html
}

/// The list of mistakes at the top. `autofocus` gives it the focus on load even without
/// JavaScript (forms.js also focuses it, and the summary it draws in the page).
pub(crate) fn error_summary(errors: &[FieldError]) -> String {
    let mut html = String::new();
    let _ = write!(
        html,
        "<div class=\"error-summary\" role=\"alert\" tabindex=\"-1\" autofocus aria-labelledby=\"error-summary-title\" id=\"error-summary\">\
         <h2 class=\"error-summary__title\" id=\"error-summary-title\">有 {} 处需要修改</h2><ul class=\"error-summary__list\">",
        errors.len()
    );
    for error in errors {
        let _ = write!(
            html,
            "<li><a href=\"#{}\">{}：{}</a></li>",
            escape(&control_id(&error.field)),
            escape(&error.label),
            escape(&error.message)
        );
    }
    html.push_str("</ul></div>");
    html
}

fn privacy_notice(def: &FormDef) -> String {
    format!(
        "<details class=\"privacy-notice\"><summary>个人信息如何使用</summary><dl>\
         <dt>用途</dt><dd>{}</dd><dt>保存期限</dt><dd>{}</dd><dt>咨询</dt><dd>{}</dd></dl></details>",
        escape(&def.privacy.purpose),
        escape(&def.privacy.retention),
        escape(&def.privacy.contact)
    )
}

fn group_html(
    group: &Group,
    rows: &[Row],
    errors: &[FieldError],
    submission: &Submission,
    staff: bool,
) -> String {
    let mut html = String::new();
    let _ = write!(html, "<fieldset class=\"form__section form__group\" data-group=\"{}\"><legend class=\"form__legend\">{}</legend>", escape(&group.key), escape(&group.title));
    if let Some(help) = &group.help {
        let _ = write!(html, "<p class=\"field__hint\">{}</p>", escape(help));
    }
    let count = rows.len().max(blank_rows(group));
    let empty = Row::new();
    for index in 0..count {
        let row = rows.get(index).unwrap_or(&empty);
        let _ = write!(
            html,
            "<fieldset class=\"group-row\" data-row=\"{index}\"><legend class=\"group-row__legend\">第 {} 个{}</legend>",
            index + 1,
            escape(&group.row_label)
        );
        for field in &group.fields {
            let name = row_name(&group.key, index, &field.key);
            let label = field.label.clone();
            html.push_str(&field_html(
                field,
                &name,
                &label,
                row.get(&field.key),
                errors,
            ));
            html.push_str(&override_input(field, &name, submission, errors, staff));
        }
        if count > group.min_rows {
            let _ = write!(
                html,
                "<button type=\"submit\" class=\"button button--secondary\" name=\"_action\" value=\"remove_row:{}:{index}\">删除第 {} 个{}</button>",
                escape(&group.key),
                index + 1,
                escape(&group.row_label)
            );
        }
        html.push_str("</fieldset>");
    }
    if count < group.max_rows {
        let _ = write!(
            html,
            "<button type=\"submit\" class=\"button button--secondary\" name=\"_action\" value=\"add_row:{}\">再添加一个{}</button>\
             <p class=\"field__hint\">最多 {} 个{}。</p>",
            escape(&group.key),
            escape(&group.row_label),
            group.max_rows,
            escape(&group.row_label)
        );
    }
    html.push_str("</fieldset>");
    html
}

/// For staff, under a credit code whose only fault may be its check character: a box for
/// the reason to accept it (real codes like that exist; the reason is stored).
fn override_input(
    field: &Field,
    name: &str,
    submission: &Submission,
    errors: &[FieldError],
    staff: bool,
) -> String {
    let is_code = matches!(field.kind, FieldKind::CreditCode | FieldKind::UnitCode);
    if !staff || !is_code || !errors.iter().any(|e| e.field == name) {
        return String::new();
    }
    let id = format!("{}-override", control_id(name));
    let value = submission.overrides.get(name).cloned().unwrap_or_default();
    format!(
        "<div class=\"field field--override\"><label class=\"field__label\" for=\"{id}\">校验码不符但与执照一致时的登记理由 \
         <span class=\"field__optional\">经办人员填写</span></label>\
         <p class=\"field__hint\" id=\"{id}-hint\">核对营业执照原件后，写明理由（至少 4 个字），本次登记会记录理由和经办人。</p>\
         <input class=\"field__control\" type=\"text\" id=\"{id}\" name=\"_override.{}\" value=\"{}\" aria-describedby=\"{id}-hint\"></div>",
        escape(name),
        escape(&value)
    )
}

fn field_html(
    field: &Field,
    name: &str,
    label: &str,
    value: Option<&Value>,
    errors: &[FieldError],
) -> String {
    let id = control_id(name);
    let error = errors.iter().find(|e| e.field == name);
    let mut described = Vec::new();
    let mut html = String::new();
    let class = if error.is_some() {
        "field field--error"
    } else {
        "field"
    };
    let need = if field.required {
        "<span class=\"field__required\">必填</span>"
    } else {
        "<span class=\"field__optional\">选填</span>"
    };
    let grouped = matches!(field.kind, FieldKind::Radio | FieldKind::Checkboxes);
    if grouped {
        let _ = write!(html, "<div class=\"{class}\"><fieldset class=\"field__choices\" id=\"{id}\" tabindex=\"-1\"><legend class=\"field__label\">{} {need}</legend>", escape(label));
    } else {
        let _ = write!(
            html,
            "<div class=\"{class}\"><label class=\"field__label\" for=\"{id}\">{} {need}</label>",
            escape(label)
        );
    }
    let hint = hint_text(field);
    if !hint.is_empty() {
        let _ = write!(
            html,
            "<p class=\"field__hint\" id=\"{id}-hint\">{}</p>",
            escape(&hint)
        );
        described.push(format!("{id}-hint"));
    }
    if let Some(error) = error {
        let _ = write!(html, "<p class=\"field__error\" id=\"{id}-error\"><span class=\"visually-hidden\">错误：</span>{}</p>", escape(&error.message));
        described.push(format!("{id}-error"));
    }
    let aria = if described.is_empty() {
        String::new()
    } else {
        format!(" aria-describedby=\"{}\"", described.join(" "))
    };
    let invalid = if error.is_some() {
        " aria-invalid=\"true\""
    } else {
        ""
    };
    let text = value.map(Value::text).unwrap_or_default();
    let data = format!(
        " data-kind=\"{}\"{}",
        kind_name(field.kind),
        if field.required {
            " data-required=\"true\""
        } else {
            ""
        }
    );
    match field.kind {
        FieldKind::Select => {
            let _ = write!(html, "<select class=\"field__control\" id=\"{id}\" name=\"{}\"{aria}{invalid}{data}><option value=\"\">请选择</option>", escape(name));
            for option in &field.options {
                let selected = if *option == text { " selected" } else { "" };
                let _ = write!(
                    html,
                    "<option value=\"{0}\"{selected}>{0}</option>",
                    escape(option)
                );
            }
            html.push_str("</select>");
        }
        FieldKind::Radio | FieldKind::Checkboxes => {
            let input_type = if field.kind == FieldKind::Radio {
                "radio"
            } else {
                "checkbox"
            };
            let chosen: Vec<String> = match value {
                Some(Value::Many(list)) => list.clone(),
                Some(Value::One(one)) => vec![one.clone()],
                None => Vec::new(),
            };
            html.push_str("<div class=\"choices\">");
            for (n, option) in field.options.iter().enumerate() {
                let checked = if chosen.contains(option) {
                    " checked"
                } else {
                    ""
                };
                let _ = write!(
                    html,
                    "<div class=\"choices__item\"><input class=\"choices__input\" type=\"{input_type}\" id=\"{id}-{n}\" name=\"{}\" value=\"{}\"{checked}{aria}{data}>\
                     <label class=\"choices__label\" for=\"{id}-{n}\">{}</label></div>",
                    escape(name),
                    escape(option),
                    escape(option)
                );
            }
            html.push_str("</div>");
        }
        FieldKind::Textarea => {
            let _ = write!(html, "<textarea class=\"field__control\" id=\"{id}\" name=\"{}\" rows=\"5\"{aria}{invalid}{data}>{}</textarea>", escape(name), escape(&text));
        }
        kind => {
            let (input_type, mode) = input_type(kind);
            let autocomplete = field
                .autocomplete
                .as_deref()
                .map(|a| format!(" autocomplete=\"{}\"", escape(a)))
                .unwrap_or_default();
            let spell = if matches!(kind, FieldKind::Text | FieldKind::Name) {
                ""
            } else {
                " spellcheck=\"false\""
            };
            let _ = write!(
                html,
                "<input class=\"field__control field__control--{}\" type=\"{input_type}\"{mode} id=\"{id}\" name=\"{}\" value=\"{}\"{autocomplete}{spell}{aria}{invalid}{data}>",
                kind_name(kind),
                escape(name),
                escape(&text)
            );
        }
    }
    if grouped {
        html.push_str("</fieldset>");
    }
    html.push_str("</div>");
    html
}

fn hint_text(field: &Field) -> String {
    let mut parts = Vec::new();
    if let Some(help) = &field.help {
        parts.push(help.clone());
    }
    let format = match field.kind {
        FieldKind::Date => Some("格式：2026-01-31"),
        FieldKind::IdNumber if field.help.is_none() => Some("18 位，最后一位可能是 X"),
        FieldKind::Mobile if field.help.is_none() => Some("11 位手机号码"),
        FieldKind::Landline if field.help.is_none() => Some("带区号，例如 0471-6945364"),
        FieldKind::Postcode if field.help.is_none() => Some("6 位数字"),
        // The checklist asks for every format in text beside its box (../shared/docs/domain.md).
        FieldKind::Phone if field.help.is_none() => {
            Some("手机号码，或带区号的固定电话，例如 0471-6945364")
        }
        FieldKind::MoneyYuan if field.help.is_none() => Some("整数元，不带小数，例如 6500"),
        FieldKind::CreditCode if field.help.is_none() => Some("18 位统一社会信用代码"),
        FieldKind::UnitCode if field.help.is_none() => {
            Some("18 位统一社会信用代码，或 9 位组织机构代码")
        }
        FieldKind::OrgCode if field.help.is_none() => Some("9 位，例如 MA0R1B2C-8"),
        FieldKind::DivisionCode if field.help.is_none() => Some("6 位数字，例如 150102"),
        _ => None,
    };
    if let Some(format) = format {
        parts.push(format.to_string());
    }
    parts.join(" ")
}

fn input_type(kind: FieldKind) -> (&'static str, &'static str) {
    match kind {
        FieldKind::Date => ("date", ""),
        FieldKind::Email => ("email", ""),
        FieldKind::Mobile | FieldKind::Landline | FieldKind::Phone => ("tel", ""),
        FieldKind::Integer
        | FieldKind::MoneyYuan
        | FieldKind::Postcode
        | FieldKind::DivisionCode => ("text", " inputmode=\"numeric\""),
        _ => ("text", ""),
    }
}

fn kind_name(kind: FieldKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The review page (核对信息): every answer, the values carried in hidden fields, and the
/// buttons to submit or to go back and change them.
pub fn review_page(
    def: &FormDef,
    submission: &Submission,
    accepted: &Accepted,
    idempotency_key: &str,
    action: &str,
) -> String {
    let mut body = String::new();
    let _ = write!(body, "<div class=\"form-page\"><p class=\"form-page__kicker\">{}</p><h1 class=\"form-page__title\">核对信息</h1>", escape(&def.title));
    body.push_str("<p class=\"form-page__lead\">请逐项核对。确认无误后点“确认提交”；需要修改请点“返回修改”。</p>");
    if !accepted.warnings.is_empty() {
        body.push_str("<div class=\"notice notice--warning\" role=\"status\"><h2 class=\"notice__title\">请留意</h2><ul>");
        for warning in &accepted.warnings {
            let _ = write!(
                body,
                "<li>{}：{}</li>",
                escape(&warning.label),
                escape(&warning.message)
            );
        }
        body.push_str("</ul></div>");
    }
    if !accepted.overrides.is_empty() {
        body.push_str("<div class=\"notice notice--warning\" role=\"status\"><h2 class=\"notice__title\">按登记理由受理的代码</h2><ul>");
        for item in &accepted.overrides {
            let _ = write!(
                body,
                "<li>{}：校验码不符，理由：{}</li>",
                escape(&item.label),
                escape(&item.message)
            );
        }
        body.push_str("</ul></div>");
    }
    for set in &def.fieldsets {
        let _ = write!(
            body,
            "<h2 class=\"review__heading\">{}</h2><dl class=\"review\">",
            escape(&set.title)
        );
        for field in &set.fields {
            let value = accepted
                .fields
                .get(&field.key)
                .map(Value::text)
                .unwrap_or_default();
            review_row(&mut body, &field.label, &value);
        }
        body.push_str("</dl>");
    }
    for group in &def.groups {
        let rows = rows_of(&accepted.groups, &group.key);
        let _ = write!(
            body,
            "<h2 class=\"review__heading\">{}（共 {} 个）</h2>",
            escape(&group.title),
            rows.len()
        );
        for (n, row) in rows.iter().enumerate() {
            let _ = write!(
                body,
                "<h3 class=\"review__subheading\">第 {} 个{}</h3><dl class=\"review\">",
                n + 1,
                escape(&group.row_label)
            );
            for field in &group.fields {
                let value = row.get(&field.key).map(Value::text).unwrap_or_default();
                review_row(&mut body, &field.label, &value);
            }
            body.push_str("</dl>");
        }
    }
    let _ = write!(body, "<form class=\"form\" action=\"{}\" method=\"post\" accept-charset=\"utf-8\" data-review=\"true\">", escape(action));
    body.push_str(&hidden_inputs(def, submission));
    let _ = write!(
        body,
        "<input type=\"hidden\" name=\"_idem\" value=\"{}\">\
         <div class=\"form__actions\"><button type=\"submit\" class=\"button\" name=\"_action\" value=\"submit\" data-prevent-double-click=\"true\">确认提交</button>\
         <button type=\"submit\" class=\"button button--secondary\" name=\"_action\" value=\"edit\">返回修改</button></div></form></div>",
        escape(idempotency_key)
    );
    page(&format!("核对信息：{}", def.title), &body)
}

pub(crate) fn review_row(body: &mut String, label: &str, value: &str) {
    let shown = if value.is_empty() {
        "（未填写）".to_string()
    } else {
        escape(value)
    };
    let _ = write!(body, "<div class=\"review__row\"><dt class=\"review__key\">{}</dt><dd class=\"review__value\">{shown}</dd></div>", escape(label));
}

fn hidden_inputs(def: &FormDef, submission: &Submission) -> String {
    let mut html = String::new();
    for (name, reason) in &submission.overrides {
        let _ = write!(
            html,
            "<input type=\"hidden\" name=\"_override.{}\" value=\"{}\">",
            escape(name),
            escape(reason)
        );
    }
    let mut hidden = |name: &str, value: &str| {
        let _ = write!(
            html,
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            escape(name),
            escape(value)
        );
    };
    for field in def.fields() {
        match submission.fields.get(&field.key) {
            Some(Value::One(v)) => hidden(&field.key, v),
            Some(Value::Many(list)) => list.iter().for_each(|v| hidden(&field.key, v)),
            None => {}
        }
    }
    for group in &def.groups {
        let rows = submission.rows(&group.key);
        for (index, row) in rows.iter().enumerate() {
            for field in &group.fields {
                let name = row_name(&group.key, index, &field.key);
                match row.get(&field.key) {
                    Some(Value::One(v)) => hidden(&name, v),
                    Some(Value::Many(list)) => list.iter().for_each(|v| hidden(&name, v)),
                    None => {}
                }
            }
        }
    }
    html
}

/// The labels and values a receipt shows: personal data masked, rows counted.
pub fn masked_summary(def: &FormDef, data: &Json) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let fields = data.get("fields").and_then(Json::as_object);
    for field in def.fields() {
        if let Some(value) = fields.and_then(|f| f.get(&field.key)) {
            out.push((field.label.clone(), masked(field, value)));
        }
    }
    for group in &def.groups {
        let rows = data
            .get("groups")
            .and_then(|g| g.get(&group.key))
            .and_then(Json::as_array);
        let count = rows.map(Vec::len).unwrap_or(0);
        out.push((
            group.title.clone(),
            format!("{count} 个{}", group.row_label),
        ));
        // Each row by its first field and its ID number, both masked where personal.
        let shown: Vec<&Field> = group
            .fields
            .iter()
            .enumerate()
            .filter(|(i, f)| *i == 0 || f.kind == FieldKind::IdNumber)
            .map(|(_, f)| f)
            .collect();
        for (n, row) in rows.into_iter().flatten().enumerate() {
            let values: Vec<String> = shown
                .iter()
                .filter_map(|f| row.get(&f.key).map(|v| masked(f, v)))
                .collect();
            if !values.is_empty() {
                out.push((
                    format!("第 {} 个{}", n + 1, group.row_label),
                    values.join("，"),
                ));
            }
        }
    }
    out
}

fn masked(field: &Field, value: &Json) -> String {
    let text = match value {
        Json::String(s) => s.clone(),
        Json::Array(items) => items
            .iter()
            .filter_map(Json::as_str)
            .collect::<Vec<_>>()
            .join("、"),
        other => other.to_string(),
    };
    if !field.personal {
        return text;
    }
    match field.kind {
        FieldKind::IdNumber => validate::mask_id(&text),
        FieldKind::Mobile | FieldKind::Landline | FieldKind::Phone => validate::mask_phone(&text),
        FieldKind::Name => validate::mask_name(&text),
        _ => "（已隐藏）".into(),
    }
}

/// The confirmation (just after submitting) or the receipt (looked up later).
pub fn receipt_page(def: Option<&FormDef>, record: &Record, just_submitted: bool) -> String {
    let title = def.map(|d| d.title.as_str()).unwrap_or("表单");
    let spaced = spaced_reference(&record.reference);
    let mut body = String::new();
    // No aria-label on the reference: ARIA forbids it on <strong> and screen readers ignore
    // it there. The spaced form, for reading out, is the next paragraph's text.
    if just_submitted {
        let _ = write!(
            body,
            "<div class=\"panel panel--confirmation\"><h1 class=\"panel__title\">提交成功</h1>\
             <div class=\"panel__body\">您的受理编号<br><strong class=\"reference\">{}</strong></div></div>",
            escape(&record.reference)
        );
    } else {
        let _ = write!(
            body,
            "<h1 class=\"form-page__title\">受理回执</h1><p class=\"receipt__reference\">受理编号 <strong class=\"reference\">{}</strong></p>",
            escape(&record.reference)
        );
    }
    let _ = write!(
        body,
        "<p>请记下或打印受理编号。电话咨询时，读出编号即可查询，例如：<span class=\"reference-spaced\">{}</span>。</p><dl class=\"review\">",
        escape(&spaced)
    );
    review_row(&mut body, "表单", title);
    review_row(&mut body, "状态", &record.status);
    review_row(&mut body, "经办时间", &shown_time(&record.audit.time));
    review_row(&mut body, "办理渠道", record.audit.channel.label());
    if let Some(def) = def {
        for (label, value) in masked_summary(def, &record.data) {
            review_row(&mut body, &label, &value);
        }
    }
    body.push_str("</dl>");
    if let Some(def) = def.filter(|d| !d.next_steps.is_empty()) {
        body.push_str("<h2>接下来</h2><ol class=\"next-steps\">");
        for step in &def.next_steps {
            let _ = write!(body, "<li>{}</li>", escape(step));
        }
        body.push_str("</ol>");
    }
    body.push_str("<p class=\"back-link no-print\"><a href=\"/\">返回首页</a></p>");
    page(
        &format!(
            "{}：{}",
            if just_submitted {
                "提交成功"
            } else {
                "受理回执"
            },
            title
        ),
        &body,
    )
}

/// A stamp time as a reader wants it: `2026-12-05 01:08:52（北京时间）`.
fn shown_time(rfc3339: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(rfc3339) {
        Ok(time) => format!("{}（北京时间）", time.format("%Y-%m-%d %H:%M:%S")),
        Err(_) => rfc3339.to_string(),
    }
}

/// The limits an upload is held to, as stated on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLimits {
    /// Largest file, in bytes.
    pub max_bytes: usize,
    /// Most data rows.
    pub max_rows: usize,
}

impl UploadLimits {
    /// The limits in words: `XLSX、XLS 或 CSV，不超过 4 MB、10000 行`.
    pub fn text(&self) -> String {
        format!(
            "文件格式为 XLSX、XLS 或 CSV（UTF-8 或 GBK 编码均可），大小不超过 {}，最多 {} 行职工",
            size_text(self.max_bytes),
            self.max_rows
        )
    }
}

/// A size as people read it: `4 MB`, `512 KB`.
fn size_text(bytes: usize) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MB", bytes / 1024 / 1024)
    } else if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / 1024.0 / 1024.0)
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

/// The upload form for a form's staff spreadsheet: the unit's own fields, the file and the
/// limits. Used by the site for the empty form and by the handler to show it again.
pub fn upload_fragment(
    def: &FormDef,
    unit: &Submission,
    errors: &[FieldError],
    action: &str,
    limits: UploadLimits,
) -> String {
    let mut html = String::with_capacity(8 * 1024);
    let staff = action.starts_with("/api/staff/");
    html.push_str(&privacy_notice(def));
    let _ = write!(
        html,
        "<p class=\"form-page__required-note\">标有“必填”的栏目必须填写。{}。</p>\
         <form class=\"form\" action=\"{}\" method=\"post\" enctype=\"multipart/form-data\" accept-charset=\"utf-8\" novalidate data-upload=\"{}\">",
        escape(&limits.text()),
        escape(action),
        escape(&def.id)
    );
    html.push_str(&single_fieldsets(def, unit, errors, staff));
    let error = errors.iter().find(|e| e.field == UPLOAD_FILE_FIELD);
    let id = control_id(UPLOAD_FILE_FIELD);
    let _ = write!(
        html,
        "<fieldset class=\"form__section\"><legend class=\"form__legend\">职工名单</legend>\
         <div class=\"field{}\"><label class=\"field__label\" for=\"{id}\">填好的人员备案电子表格 <span class=\"field__required\">必填</span></label>\
         <p class=\"field__hint\" id=\"{id}-hint\">请用<a href=\"/forms/{form}/template.xlsx\" download>人员备案电子表格模板</a>\
         （XLSX；也有 <a href=\"/forms/{form}/template.csv\" download>CSV 模板</a>）填写，每名职工一行。{}。</p>",
        if error.is_some() { " field--error" } else { "" },
        escape(&limits.text()),
        form = escape(&def.id)
    );
    let mut described = format!("{id}-hint");
    if let Some(error) = error {
        let _ = write!(html, "<p class=\"field__error\" id=\"{id}-error\"><span class=\"visually-hidden\">错误：</span>{}</p>", escape(&error.message));
        described.push_str(&format!(" {id}-error"));
    }
    let _ = write!(
        html,
        "<input class=\"field__control field__control--file\" type=\"file\" id=\"{id}\" name=\"{UPLOAD_FILE_FIELD}\" \
         accept=\".xlsx,.xls,.csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,application/vnd.ms-excel,text/csv\" \
         aria-describedby=\"{described}\"{}></div></fieldset>",
        if error.is_some() { " aria-invalid=\"true\"" } else { "" }
    );
    let _ = write!(
        html,
        "<div class=\"form__honeypot\" aria-hidden=\"true\"><label for=\"f-{HONEYPOT}\">网址（请勿填写）</label>\
         <input type=\"text\" id=\"f-{HONEYPOT}\" name=\"{HONEYPOT}\" tabindex=\"-1\" autocomplete=\"off\"></div>\
         <div class=\"form__actions\"><button type=\"submit\" class=\"button\">上传并检查</button></div></form>\
         <p class=\"form-page__note\">上传后系统逐行检查：全部无误才保存，并给出受理编号；有任何问题则一行也不保存，\
         并列出每个问题所在的行、列和改法，还可下载标出问题的表格，改好后重新上传。同一个文件重复上传不会重复保存。</p>"
    );
    html
}

/// The name of the upload form's file input.
pub const UPLOAD_FILE_FIELD: &str = "file";

/// The upload form as a whole page, with errors (if any) summarised at the top.
pub fn upload_page(
    def: &FormDef,
    unit: &Submission,
    errors: &[FieldError],
    action: &str,
    limits: UploadLimits,
    report: &str,
) -> String {
    let title = format!("{}：上传电子表格", def.title);
    let mut body = String::new();
    let _ = write!(
        body,
        "<div class=\"form-page\"><h1 class=\"form-page__title\">{}</h1>",
        escape(&title)
    );
    if !errors.is_empty() {
        body.push_str(&error_summary(errors));
    }
    body.push_str(report);
    body.push_str(&upload_fragment(def, unit, errors, action, limits));
    body.push_str("</div>");
    let shown = if errors.is_empty() && report.is_empty() {
        title
    } else {
        format!("错误：{title}")
    };
    page(&shown, &body)
}

/// The receipt of a bulk upload: its reference, state and a few of its rows, masked.
pub fn batch_receipt_page(
    def: Option<&FormDef>,
    batch: &Batch,
    rows: &[Record],
    just_submitted: bool,
) -> String {
    let title = def.map(|d| d.title.as_str()).unwrap_or("表单");
    let spaced = spaced_reference(&batch.reference);
    let mut body = String::new();
    let heading = if !batch.complete {
        "正在保存"
    } else if just_submitted {
        "上传成功"
    } else {
        "受理回执"
    };
    let _ = write!(
        body,
        "<div class=\"panel panel--confirmation\"><h1 class=\"panel__title\">{heading}</h1>\
         <div class=\"panel__body\">本次上传的受理编号<br><strong class=\"reference\">{}</strong></div></div>",
        escape(&batch.reference)
    );
    let state = if batch.complete {
        format!("已受理，{} 名职工全部保存", batch.rows)
    } else {
        "还没有全部保存：请用同一个文件重新上传，系统会接着保存，不会重复".to_string()
    };
    let _ = write!(
        body,
        "<p>请记下或打印受理编号。电话咨询时，读出编号即可查询，例如：<span class=\"reference-spaced\">{}</span>。</p><dl class=\"review\">",
        escape(&spaced)
    );
    review_row(&mut body, "表单", title);
    review_row(&mut body, "状态", &state);
    review_row(&mut body, "经办时间", &shown_time(&batch.audit.time));
    review_row(&mut body, "经办机构", &batch.audit.agency);
    review_row(
        &mut body,
        "办理渠道",
        &format!("{}（电子表格上传）", batch.audit.channel.label()),
    );
    review_row(&mut body, "文件类型", &batch.file_format);
    review_row(&mut body, "职工人数", &batch.rows.to_string());
    body.push_str("</dl>");
    if let (Some(def), false) = (def, rows.is_empty()) {
        let _ = write!(
            body,
            "<h2>职工和个人受理编号</h2><p>每名职工另有一个受理编号，可单独查询。{}</p>\
             <div class=\"table-scroll\"><table class=\"data-table\"><thead><tr><th scope=\"col\">序号</th><th scope=\"col\">职工</th><th scope=\"col\">个人受理编号</th></tr></thead><tbody>",
            if rows.len() < batch.rows as usize {
                format!("这里列出前 {} 名。", rows.len())
            } else {
                String::new()
            }
        );
        for (n, row) in rows.iter().enumerate() {
            let who = masked_summary(def, &row.data)
                .into_iter()
                .filter(|(label, _)| label.starts_with("第 "))
                .map(|(_, value)| value)
                .collect::<Vec<_>>()
                .join("；");
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td><a href=\"/api/receipts/{}\">{}</a></td></tr>",
                n + 1,
                escape(&who),
                escape(&row.reference),
                escape(&row.reference)
            );
        }
        body.push_str("</tbody></table></div>");
    }
    if let Some(def) = def.filter(|d| !d.next_steps.is_empty() && batch.complete) {
        body.push_str("<h2>接下来</h2><ol class=\"next-steps\">");
        for step in &def.next_steps {
            let _ = write!(body, "<li>{}</li>", escape(step));
        }
        body.push_str("</ol>");
    }
    body.push_str("<p class=\"back-link no-print\"><a href=\"/\">返回首页</a></p>");
    page(&format!("{heading}：{title}"), &body)
}

/// A reference spelled out for screen readers: `K 7 Q M …`.
fn spaced_reference(reference: &str) -> String {
    reference
        .chars()
        .filter(|c| *c != '-')
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The page for a unit that need not file the form.
pub fn exempt_page(def: &FormDef, message: &str) -> String {
    let body = format!(
        "<div class=\"panel panel--info\"><h1 class=\"panel__title\">无需填报</h1><div class=\"panel__body\">{}</div></div>\
         <p>没有保存任何内容。如有疑问，请拨打 <a href=\"tel:12333\">12333</a>。</p><p class=\"back-link\"><a href=\"/\">返回首页</a></p>",
        escape(message)
    );
    page(&format!("无需填报：{}", def.title), &body)
}

/// A page with one message, for errors other than field errors.
pub fn message_page(status: StatusCode, message: &str) -> String {
    let heading = match status.as_u16() {
        404 => "找不到",
        413 => "内容过长",
        429 => "请稍后再试",
        400..=499 => "无法受理",
        _ => "暂时无法处理",
    };
    let body = format!(
        "<h1 class=\"form-page__title\">{heading}</h1><p class=\"message\">{}</p>\
         <p>如需帮助，请拨打 <a href=\"tel:12333\">12333</a>。</p><p class=\"back-link\"><a href=\"/\">返回首页</a></p>",
        escape(message)
    );
    page(heading, &body)
}

/// The definition as the browser script reads it: kinds, labels, options, rules.
pub fn definition_json(def: &FormDef) -> Json {
    json!(def)
}
