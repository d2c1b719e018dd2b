//! Checks a whole submission against its form: each field with `validate`, then the rules
//! across fields. Gives the normalised record to store, or every problem at once.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::forms::{Field, FieldKind, FormDef, Rule};
use crate::submission::{row_name, Row, Submission, Value};
use crate::validate;

/// One problem with one field, in the words shown to the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's HTML name (`unit_name`, `units[2].phone`), the target of the summary link.
    pub field: String,
    /// The label shown, with the row for group fields (`第 3 个单位：办公电话`).
    pub label: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// A submission that passed: the normalised values, and notes that are not errors.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Accepted {
    /// Normalised single values.
    pub fields: BTreeMap<String, Value>,
    /// Normalised group rows, empty rows dropped.
    pub groups: BTreeMap<String, Vec<Row>>,
    /// Warnings (a postcode outside Inner Mongolia…), shown on the review page.
    pub warnings: Vec<FieldError>,
    /// Codes accepted despite a failing check character, each with the staff's reason.
    pub overrides: Vec<FieldError>,
}

impl Accepted {
    /// The record as stored: `{"fields": {...}, "groups": {...}}`, plus `"overrides"`
    /// (field, label and reason) when staff accepted a code whose check character fails.
    pub fn to_json(&self) -> serde_json::Value {
        let mut data = serde_json::json!({ "fields": self.fields, "groups": self.groups });
        if !self.overrides.is_empty() {
            data["overrides"] = serde_json::to_value(&self.overrides).unwrap_or_default();
        }
        data
    }
}

/// What checking a submission gives.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Everything is right.
    Accepted(Accepted),
    /// Something must be fixed; nothing may be stored.
    Rejected(Vec<FieldError>),
    /// The unit need not file this form; nothing is stored.
    Exempt(String),
}

/// Checks `submission` against `def`, with `today` for dates that may not be in the future.
pub fn check(def: &FormDef, submission: &Submission, today: NaiveDate) -> Outcome {
    check_owned(def, submission.clone(), today)
}

/// Like [`check`], taking the submission: each row is dropped once it has been checked, so a
/// spreadsheet's 10,000 rows are never held twice.
pub fn check_owned(def: &FormDef, mut submission: Submission, today: NaiveDate) -> Outcome {
    let mut given_groups = std::mem::take(&mut submission.groups);
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut overrides = Vec::new();
    let mut fields = BTreeMap::new();
    for field in def.fields() {
        let value = submission.fields.get(&field.key);
        let reason = submission.overrides.get(&field.key).map(String::as_str);
        match check_field(field, value, today, reason) {
            Ok(Some((v, warning))) => {
                if let Some(w) = warning {
                    note(&mut warnings, &mut overrides, &field.key, &field.label, w);
                }
                fields.insert(field.key.clone(), v);
            }
            Ok(None) => {}
            Err(message) => errors.push(error(&field.key, &field.label, message)),
        }
    }

    let mut groups = BTreeMap::new();
    for group in &def.groups {
        let rows = given_groups.remove(&group.key).unwrap_or_default();
        let mut kept = Vec::with_capacity(rows.len());
        for (index, row) in rows.into_iter().enumerate() {
            if row.values().all(Value::is_blank) {
                continue;
            }
            let number = kept.len() + 1;
            let mut normalised = Row::new();
            for field in &group.fields {
                // Names and labels are made only when needed: a file has 10,000 rows.
                let name = || row_name(&group.key, index, &field.key);
                let label = || format!("第 {number} 个{}：{}", group.row_label, field.label);
                let reason = if submission.overrides.is_empty() {
                    None
                } else {
                    submission.overrides.get(&name()).map(String::as_str)
                };
                match check_field(field, row.get(&field.key), today, reason) {
                    Ok(Some((v, warning))) => {
                        if let Some(w) = warning {
                            note(&mut warnings, &mut overrides, &name(), &label(), w);
                        }
                        normalised.insert(field.key.clone(), v);
                    }
                    Ok(None) => {}
                    Err(message) => errors.push(error(&name(), &label(), message)),
                }
            }
            kept.push((index, normalised));
        }
        if kept.len() < group.min_rows {
            let name = row_name(&group.key, 0, &group.fields[0].key);
            errors.push(error(
                &name,
                &group.title,
                format!("至少要填写 {} 个{}", group.min_rows, group.row_label),
            ));
        }
        if kept.len() > group.max_rows {
            let name = row_name(&group.key, 0, &group.fields[0].key);
            errors.push(error(
                &name,
                &group.title,
                format!(
                    "最多填写 {} 个{}：请分成几次提交",
                    group.max_rows, group.row_label
                ),
            ));
        }
        groups.insert(group.key.clone(), kept);
    }

    for rule in &def.rules {
        if let Rule::ExemptIf {
            field,
            values,
            message,
        } = rule
        {
            if let Some(Value::One(v)) = fields.get(field) {
                if values.contains(v) {
                    return Outcome::Exempt(message.clone());
                }
            }
        }
    }
    apply_rules(def, &fields, &groups, today, &mut errors);

    if errors.is_empty() {
        let groups = groups
            .into_iter()
            .map(|(k, rows)| (k, rows.into_iter().map(|(_, r)| r).collect()))
            .collect();
        Outcome::Accepted(Accepted {
            fields,
            groups,
            warnings,
            overrides,
        })
    } else {
        Outcome::Rejected(errors)
    }
}

fn error(field: &str, label: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_string(),
        label: label.to_string(),
        message: message.into(),
    }
}

/// Marks the note a field check gives for a code accepted on a staff member's reason.
const OVERRIDE_NOTE: &str = "经办人员登记理由：";

/// Files a field's note: an override's reason among the overrides, anything else as a warning.
fn note(
    warnings: &mut Vec<FieldError>,
    overrides: &mut Vec<FieldError>,
    name: &str,
    label: &str,
    text: String,
) {
    match text.strip_prefix(OVERRIDE_NOTE) {
        Some(reason) => overrides.push(error(name, label, reason)),
        None => warnings.push(error(name, label, text)),
    }
}

/// Accepts a credit code whose check character fails when staff give a reason: real codes
/// like that exist (domain.md). Everything but the check character must still be right.
fn code_with_override(
    checked: Result<String, String>,
    raw: &str,
    reason: Option<&str>,
) -> Result<(String, Option<String>), String> {
    let error = match checked {
        Ok(code) => return Ok((code, None)),
        Err(error) => error,
    };
    let reason = reason
        .map(validate::normalise_text)
        .filter(|r| r.chars().count() >= 4);
    match (reason, validate::check_credit_code_format(raw)) {
        (Some(reason), Ok(code)) => Ok((code, Some(format!("{OVERRIDE_NOTE}{reason}")))),
        _ => Err(error),
    }
}

/// Checks one field. `Ok(None)` means left empty and allowed to be. `reason` is a staff
/// member's reason for accepting a code whose check character fails (staff channel only).
fn check_field(
    field: &Field,
    value: Option<&Value>,
    today: NaiveDate,
    reason: Option<&str>,
) -> Result<Option<(Value, Option<String>)>, String> {
    let blank = value.is_none_or(Value::is_blank);
    if blank {
        if field.kind == FieldKind::Checkboxes && !field.required {
            // None ticked is an answer: stored as an empty list, never as a missing field.
            return Ok(Some((Value::Many(Vec::new()), None)));
        }
        if field.required {
            let verb = if matches!(
                field.kind,
                FieldKind::Select | FieldKind::Radio | FieldKind::Checkboxes
            ) {
                "请选择"
            } else {
                "请填写"
            };
            return Err(format!("{verb}{}", field.label));
        }
        return Ok(None);
    }
    let value = value.expect("not blank");
    if field.kind == FieldKind::Checkboxes {
        let Value::Many(list) = value else {
            return Err("请从选项中勾选".into());
        };
        let mut chosen = Vec::new();
        for item in list
            .iter()
            .map(|s| validate::normalise_text(s))
            .filter(|s| !s.is_empty())
        {
            if !field.options.contains(&item) {
                return Err(format!("“{item}”不是可选的项：请从列出的选项中勾选"));
            }
            if !chosen.contains(&item) {
                chosen.push(item);
            }
        }
        return Ok(Some((Value::Many(chosen), None)));
    }
    let Value::One(raw) = value else {
        return Err("只能填一个值".into());
    };
    let mut warning = None;
    let text = match field.kind {
        FieldKind::Text | FieldKind::Textarea => {
            // Browsers send a textarea's line breaks as CRLF.
            let text = validate::normalise_text(&raw.replace("\r\n", "\n"));
            let limit = field
                .max_length
                .unwrap_or(if field.kind == FieldKind::Text {
                    200
                } else {
                    2000
                });
            let count = text.chars().count();
            if count > limit {
                return Err(format!(
                    "最多 {limit} 个字，现在有 {count} 个：请删减后再提交"
                ));
            }
            if text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t')
            {
                return Err("含有不可见的控制字符：请重新输入".into());
            }
            text
        }
        FieldKind::Name => validate::check_name(raw)?,
        FieldKind::Select | FieldKind::Radio => {
            let text = validate::normalise_text(raw);
            if !field.options.contains(&text) {
                return Err(format!("“{text}”不是可选的项：请从列出的选项中选择"));
            }
            text
        }
        FieldKind::Checkboxes => unreachable!("handled above"),
        FieldKind::Date => validate::check_date(raw)?.format("%Y-%m-%d").to_string(),
        FieldKind::IdNumber => validate::check_id_number(raw, today)?.number,
        FieldKind::CreditCode => {
            let (code, note) = code_with_override(validate::check_credit_code(raw), raw, reason)?;
            warning = note;
            code
        }
        FieldKind::OrgCode => validate::check_org_code(raw)?,
        FieldKind::UnitCode => {
            let (code, note) = code_with_override(validate::check_unit_code(raw), raw, reason)?;
            warning = note;
            code
        }
        FieldKind::Mobile => validate::check_mobile(raw)?,
        FieldKind::Landline => validate::check_landline(raw)?,
        FieldKind::Phone => validate::check_phone(raw)?,
        FieldKind::Postcode => {
            let (code, warn) = validate::check_postcode(raw)?;
            warning = warn;
            code
        }
        FieldKind::DivisionCode => validate::check_division_code(raw)?,
        FieldKind::Email => validate::check_email(raw)?,
        FieldKind::Integer => validate::check_integer(raw, field.min, field.max)?.to_string(),
        FieldKind::MoneyYuan => {
            let amount = validate::check_money_yuan(raw)?;
            if field.min.is_some_and(|m| amount < m) || field.max.is_some_and(|m| amount > m) {
                return Err("金额超出允许的范围：请核对".into());
            }
            amount.to_string()
        }
    };
    Ok(Some((Value::One(text), warning)))
}

/// Gives a rule's field its HTML name and its shown label, within one scope.
type Namer<'a> = Box<dyn Fn(&str) -> (String, String) + 'a>;

/// The values a rule looks at: the single fields, or each kept row of its group.
fn scopes<'a>(
    group: &Option<String>,
    fields: &'a BTreeMap<String, Value>,
    groups: &'a BTreeMap<String, Vec<(usize, Row)>>,
    def: &FormDef,
) -> Vec<(&'a BTreeMap<String, Value>, Namer<'a>)> {
    match group {
        None => {
            let labels: BTreeMap<String, String> = def
                .fields()
                .map(|f| (f.key.clone(), f.label.clone()))
                .collect();
            vec![(
                fields,
                Box::new(move |key: &str| {
                    (
                        key.to_string(),
                        labels.get(key).cloned().unwrap_or_default(),
                    )
                }),
            )]
        }
        Some(g) => {
            let Some(def_group) = def.group(g) else {
                return Vec::new();
            };
            let row_label = def_group.row_label.clone();
            let labels: BTreeMap<String, String> = def_group
                .fields
                .iter()
                .map(|f| (f.key.clone(), f.label.clone()))
                .collect();
            let g = g.clone();
            groups
                .get(&g)
                .map(|rows| {
                    rows.iter()
                        .enumerate()
                        .map(|(n, (index, row))| {
                            let (g, labels, row_label, index) =
                                (g.clone(), labels.clone(), row_label.clone(), *index);
                            let name: Namer<'a> = Box::new(move |key: &str| {
                                let label = labels.get(key).cloned().unwrap_or_default();
                                (
                                    row_name(&g, index, key),
                                    format!("第 {} 个{row_label}：{label}", n + 1),
                                )
                            });
                            (row, name)
                        })
                        .collect()
                })
                .unwrap_or_default()
        }
    }
}

fn apply_rules(
    def: &FormDef,
    fields: &BTreeMap<String, Value>,
    groups: &BTreeMap<String, Vec<(usize, Row)>>,
    today: NaiveDate,
    errors: &mut Vec<FieldError>,
) {
    let text = |map: &BTreeMap<String, Value>, key: &str| match map.get(key) {
        Some(Value::One(s)) => Some(s.clone()),
        _ => None,
    };
    let has_error = |errors: &[FieldError], name: &str| errors.iter().any(|e| e.field == name);
    // An ID number that passed its own check, read again for the rules that use its parts.
    let id_info = |map: &BTreeMap<String, Value>, key: &str| {
        text(map, key).and_then(|number| validate::check_id_number(&number, today).ok())
    };
    for rule in &def.rules {
        match rule {
            Rule::DateOrder { group, start, end } => {
                for (map, name) in scopes(group, fields, groups, def) {
                    let (Some(a), Some(b)) = (text(map, start), text(map, end)) else {
                        continue;
                    };
                    if b < a {
                        let (field, label) = name(end);
                        let (_, start_label) = name(start);
                        let start_label = start_label.rsplit('：').next().unwrap_or("").to_string();
                        errors.push(error(
                            &field,
                            &label,
                            format!("不能早于{start_label}（{a}）：请核对两个日期"),
                        ));
                    }
                }
            }
            Rule::IdMatches {
                group,
                id,
                sex,
                birth,
            } => {
                for (map, name) in scopes(group, fields, groups, def) {
                    let Some(info) = id_info(map, id) else {
                        continue;
                    };
                    let sex_value = sex.as_ref().and_then(|k| text(map, k));
                    let birth_value = birth
                        .as_ref()
                        .and_then(|k| text(map, k))
                        .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok());
                    for message in validate::id_matches(&info, sex_value.as_deref(), birth_value) {
                        let target = if message.contains("性别") {
                            sex.as_ref()
                        } else {
                            birth.as_ref()
                        };
                        let (field, label) = name(target.unwrap_or(id));
                        if !has_error(errors, &field) {
                            errors.push(error(&field, &label, message));
                        }
                    }
                }
            }
            Rule::RequiredIf {
                group,
                field: target,
                when,
                equals,
            } => {
                for (map, name) in scopes(group, fields, groups, def) {
                    let Some(v) = text(map, when) else { continue };
                    let (field, label) = name(target);
                    // A value that failed its own check was filled in: one message is enough.
                    if equals.contains(&v)
                        && !map.contains_key(target)
                        && !has_error(errors, &field)
                    {
                        let field_label = label.rsplit('：').next().unwrap_or("").to_string();
                        errors.push(error(
                            &field,
                            &label,
                            format!("选择“{v}”时必须填写{field_label}"),
                        ));
                    }
                }
            }
            Rule::SumEquals {
                group,
                total,
                parts,
            } => {
                for (map, name) in scopes(group, fields, groups, def) {
                    let number = |k: &str| text(map, k).and_then(|s| s.parse::<i64>().ok());
                    let Some(sum_total) = number(total) else {
                        continue;
                    };
                    let values: Option<Vec<i64>> = parts.iter().map(|p| number(p)).collect();
                    let Some(values) = values else { continue };
                    let Some(sum) = values.iter().try_fold(0i64, |acc, v| acc.checked_add(*v))
                    else {
                        continue;
                    };
                    if sum != sum_total {
                        let (field, label) = name(total);
                        let names: Vec<String> = parts
                            .iter()
                            .map(|p| name(p).1.rsplit('：').next().unwrap_or("").to_string())
                            .collect();
                        errors.push(error(
                            &field,
                            &label,
                            format!(
                                "应等于{}之和（{sum}），现在是 {sum_total}：请核对",
                                names.join("、")
                            ),
                        ));
                    }
                }
            }
            Rule::BeforeCurrentYear { group, field } => {
                let this_year = i64::from(today.year());
                for (map, name) in scopes(group, fields, groups, def) {
                    let Some(year) = text(map, field).and_then(|y| y.parse::<i64>().ok()) else {
                        continue;
                    };
                    let (target, label) = name(field);
                    if year >= this_year && !has_error(errors, &target) {
                        errors.push(error(
                            &target,
                            &label,
                            format!(
                                "应早于今年（{this_year} 年）：请填写已经结束的年度，例如 {}",
                                this_year - 1
                            ),
                        ));
                    }
                }
            }
            Rule::Unique { group, field } => {
                let Some(def_group) = def.group(group) else {
                    continue;
                };
                let mut seen: BTreeMap<String, usize> = BTreeMap::new();
                for (n, (index, row)) in groups
                    .get(group)
                    .map(Vec::as_slice)
                    .unwrap_or(&[])
                    .iter()
                    .enumerate()
                {
                    let Some(value) = text(row, field) else {
                        continue;
                    };
                    if let Some(first) = seen.get(&value) {
                        let label = def_group
                            .fields
                            .iter()
                            .find(|f| &f.key == field)
                            .map(|f| f.label.as_str())
                            .unwrap_or("");
                        errors.push(error(
                            &row_name(group, *index, field),
                            &format!("第 {} 个{}：{label}", n + 1, def_group.row_label),
                            format!(
                                "与第 {first} 个{}相同：同一人只需填一行，请删除重复的一行",
                                def_group.row_label
                            ),
                        ));
                    } else {
                        seen.insert(value, n + 1);
                    }
                }
            }
            Rule::MinAge {
                group,
                id,
                years,
                on,
            } => {
                for (map, name) in scopes(group, fields, groups, def) {
                    let Some(info) = id_info(map, id) else {
                        continue;
                    };
                    let day = on
                        .as_ref()
                        .and_then(|k| text(map, k))
                        .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
                        .unwrap_or(today);
                    let age = day.years_since(info.birth).unwrap_or(0);
                    let (target, label) = name(id);
                    if age < *years && !has_error(errors, &target) {
                        errors.push(error(
                            &target,
                            &label,
                            format!("按此号码，此人在 {day} 未满 {years} 周岁，不能建立劳动关系：请核对号码或日期"),
                        ));
                    }
                }
            }
            Rule::ExemptIf { .. } => {}
        }
    }
}
