//! A submission as it arrives: single values and rows of repeatable groups, parsed from a
//! browser's form post or a JSON body.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::forms::{FieldKind, FormDef};

/// A submitted value: one text, or several for check boxes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// One text.
    One(String),
    /// Several texts.
    Many(Vec<String>),
}

impl Value {
    /// The value as one text (check boxes joined with 、).
    pub fn text(&self) -> String {
        match self {
            Value::One(s) => s.clone(),
            Value::Many(v) => v.join("、"),
        }
    }

    /// Whether nothing was entered.
    pub fn is_blank(&self) -> bool {
        match self {
            Value::One(s) => s
                .trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
                .is_empty(),
            Value::Many(v) => v.iter().all(|s| s.trim().is_empty()),
        }
    }
}

/// The values of one group row.
pub type Row = BTreeMap<String, Value>;

/// Everything a person entered in a form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    /// Single fields by key.
    #[serde(default)]
    pub fields: BTreeMap<String, Value>,
    /// Group rows by group key.
    #[serde(default)]
    pub groups: BTreeMap<String, Vec<Row>>,
    /// Staff reasons for accepting a code whose check character fails, by field name
    /// (`unit_code`, `units[0].code`); the public channel's are dropped.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overrides: BTreeMap<String, String>,
}

impl Submission {
    /// The rows entered for a group, none when the group was left out.
    pub fn rows(&self, group: &str) -> &[Row] {
        rows_of(&self.groups, group)
    }
}

/// The rows of `group` in a map of group rows, none when it is missing.
pub fn rows_of<'a>(groups: &'a BTreeMap<String, Vec<Row>>, group: &str) -> &'a [Row] {
    groups.get(group).map(Vec::as_slice).unwrap_or(&[])
}

/// Keys of a form post that are not fields: the button pressed, the idempotency key…
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Controls {
    /// `_action`: which button was pressed.
    pub action: Option<String>,
    /// `_idem`: the idempotency key written into the review page.
    pub idempotency_key: Option<String>,
    /// The honeypot field, which people never see and bots fill in.
    pub honeypot: Option<String>,
}

/// The hidden field bots fill in and people leave empty.
pub const HONEYPOT: &str = "website";

/// Why a body could not be read as a submission; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyError(pub String);

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The HTML name of a group row's field: `units[2].phone`.
pub fn row_name(group: &str, row: usize, key: &str) -> String {
    format!("{group}[{row}].{key}")
}

/// Splits `units[2].phone` into (`units`, 2, `phone`).
pub fn parse_row_name(name: &str) -> Option<(&str, usize, &str)> {
    let (group, rest) = name.split_once('[')?;
    let (index, rest) = rest.split_once(']')?;
    let key = rest.strip_prefix('.')?;
    Some((group, index.parse().ok()?, key))
}

/// Largest row index accepted in a form post, so `units[99999999].x` cannot allocate.
const MAX_ROW_INDEX: usize = 500;

/// Reads `application/x-www-form-urlencoded` pairs. A single-value field sent twice is an
/// error naming the field; check boxes collect every value (none ticked is an empty list);
/// names the form does not have are left out.
pub fn from_form(def: &FormDef, body: &[u8]) -> Result<(Submission, Controls), BodyError> {
    let mut submission = Submission::default();
    let mut controls = Controls::default();
    let mut rows: BTreeMap<String, BTreeMap<usize, Row>> = BTreeMap::new();
    for field in def.fields().filter(|f| f.kind == FieldKind::Checkboxes) {
        submission
            .fields
            .insert(field.key.clone(), Value::Many(Vec::new()));
    }
    for (name, value) in pairs(body)? {
        match name.as_str() {
            "_action" => controls.action = Some(value),
            "_idem" => controls.idempotency_key = Some(value),
            HONEYPOT => controls.honeypot = Some(value),
            other if other.starts_with("_override.") => {
                let field = other.trim_start_matches("_override.").to_string();
                if !value.trim().is_empty() && submission.overrides.len() < 100 {
                    submission
                        .overrides
                        .insert(field, value.chars().take(500).collect());
                }
            }
            other if other.starts_with('_') => {}
            other => {
                // A name the form does not have comes from a page made with an older
                // definition: it is left out, so the person sees the current form with their
                // values rather than a dead end.
                if let Some((group, index, key)) = parse_row_name(other) {
                    let Some(g) = def.group(group) else { continue };
                    let Some(field) = g.fields.iter().find(|f| f.key == key) else {
                        continue;
                    };
                    if index >= MAX_ROW_INDEX.min(g.max_rows * 2 + 10) {
                        return Err(BodyError(format!("“{}”的行号 {index} 超出范围", g.title)));
                    }
                    let row = rows
                        .entry(group.to_string())
                        .or_default()
                        .entry(index)
                        .or_default();
                    insert(row, key, &field.label, field.kind, value)?;
                } else {
                    let Some(field) = def.field(other) else {
                        continue;
                    };
                    insert(
                        &mut submission.fields,
                        other,
                        &field.label,
                        field.kind,
                        value,
                    )?;
                }
            }
        }
    }
    for group in &def.groups {
        let mut list: Vec<Row> = rows
            .remove(&group.key)
            .unwrap_or_default()
            .into_values()
            .collect();
        for row in &mut list {
            for field in group
                .fields
                .iter()
                .filter(|f| f.kind == FieldKind::Checkboxes)
            {
                row.entry(field.key.clone())
                    .or_insert_with(|| Value::Many(Vec::new()));
            }
        }
        submission.groups.insert(group.key.clone(), list);
    }
    Ok((submission, controls))
}

/// Splits a form body into decoded pairs, refusing bytes that are not UTF-8 rather than
/// quietly replacing them.
fn pairs(body: &[u8]) -> Result<Vec<(String, String)>, BodyError> {
    body.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let at = pair.iter().position(|&b| b == b'=').unwrap_or(pair.len());
            let value = pair.get(at + 1..).unwrap_or(&[]);
            Ok((decode(&pair[..at])?, decode(value)?))
        })
        .collect()
}

fn decode(bytes: &[u8]) -> Result<String, BodyError> {
    let spaced: Vec<u8> = bytes
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    let decoded: Vec<u8> = percent_encoding::percent_decode(&spaced).collect();
    String::from_utf8(decoded).map_err(|_| {
        BodyError("提交的内容不是有效的 UTF-8 编码：请用网站上的表单重新填写后提交".into())
    })
}

fn unknown(name: &str) -> BodyError {
    BodyError(format!(
        "表单中没有名为“{name}”的栏目：请从网站上的表单重新填写"
    ))
}

fn insert(
    map: &mut Row,
    key: &str,
    label: &str,
    kind: FieldKind,
    value: String,
) -> Result<(), BodyError> {
    if kind == FieldKind::Checkboxes {
        match map
            .entry(key.to_string())
            .or_insert_with(|| Value::Many(Vec::new()))
        {
            Value::Many(list) => list.push(value),
            Value::One(_) => unreachable!("check boxes are always lists"),
        }
        return Ok(());
    }
    if map.insert(key.to_string(), Value::One(value)).is_some() {
        return Err(BodyError(format!(
            "“{label}”只能填一个值，但提交了多个：请只保留一个后重新提交"
        )));
    }
    Ok(())
}

/// Reads a JSON body: `{"fields": {...}, "groups": {"units": [{...}]}}`. Numbers are
/// accepted only for whole-number fields and must fit exactly; codes and phone numbers must
/// be strings, so no digit is ever lost.
pub fn from_json(def: &FormDef, body: &[u8]) -> Result<Submission, BodyError> {
    let raw = parse_json(body)?;
    let object = raw
        .as_object()
        .ok_or_else(|| BodyError("JSON 顶层应是对象：{\"fields\": {…}}".into()))?;
    let mut submission = Submission::default();
    for key in object.keys() {
        if key != "fields" && key != "groups" && key != "overrides" {
            return Err(BodyError(format!(
                "JSON 中不认识的键“{key}”：只能有 fields、groups 和 overrides"
            )));
        }
    }
    if let Some(fields) = object.get("fields") {
        let fields = fields
            .as_object()
            .ok_or_else(|| BodyError("fields 应是对象".into()))?;
        for (key, value) in fields {
            let field = def.field(key).ok_or_else(|| unknown(key))?;
            submission
                .fields
                .insert(key.clone(), json_value(&field.label, field.kind, value)?);
        }
    }
    if let Some(overrides) = object.get("overrides") {
        let overrides = overrides
            .as_object()
            .ok_or_else(|| BodyError("overrides 应是对象：{\"字段\": \"理由\"}".into()))?;
        for (name, reason) in overrides.iter().take(100) {
            let reason = reason
                .as_str()
                .ok_or_else(|| BodyError("overrides 中的理由应是字符串".into()))?;
            submission
                .overrides
                .insert(name.clone(), reason.chars().take(500).collect());
        }
    }
    if let Some(groups) = object.get("groups") {
        let groups = groups
            .as_object()
            .ok_or_else(|| BodyError("groups 应是对象".into()))?;
        for (key, rows) in groups {
            let group = def.group(key).ok_or_else(|| unknown(key))?;
            let rows = rows
                .as_array()
                .ok_or_else(|| BodyError(format!("“{}”应是数组", group.title)))?;
            if rows.len() > group.max_rows.max(1) * 2 + 10 {
                return Err(BodyError(format!(
                    "“{}”最多 {} 行",
                    group.title, group.max_rows
                )));
            }
            let mut list = Vec::with_capacity(rows.len());
            for row in rows {
                let row = row
                    .as_object()
                    .ok_or_else(|| BodyError(format!("“{}”的每一行应是对象", group.title)))?;
                let mut values = Row::new();
                for (name, value) in row {
                    let field = group
                        .fields
                        .iter()
                        .find(|f| &f.key == name)
                        .ok_or_else(|| unknown(name))?;
                    values.insert(name.clone(), json_value(&field.label, field.kind, value)?);
                }
                list.push(values);
            }
            submission.groups.insert(key.clone(), list);
        }
    }
    Ok(submission)
}

/// Parses a JSON body, naming what is wrong: empty, not UTF-8, nested too deep (serde_json
/// stops at 128 levels, so no input can exhaust the stack), or where the syntax breaks.
fn parse_json(body: &[u8]) -> Result<serde_json::Value, BodyError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(BodyError(
            "请求内容是空的：请提交 JSON 对象，例如 {\"fields\": {…}}".into(),
        ));
    }
    if std::str::from_utf8(body).is_err() {
        return Err(BodyError(
            "提交的内容不是有效的 UTF-8 编码：请用 UTF-8（不要用 GBK 或 UTF-16）编码 JSON 后重新提交"
                .into(),
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        let (line, column) = (e.line(), e.column());
        let text = e.to_string();
        let problem = if text.contains("recursion limit") {
            "JSON 嵌套层数过多：提交内容只需 fields、groups 两三层，请检查格式"
        } else if text.contains("out of range") {
            "JSON 中的数字超出范围：代码、电话等请写成带引号的字符串"
        } else if text.contains("surrogate") || text.contains("escape") {
            "JSON 字符串中有无效的 \\u 转义：请检查特殊字符"
        } else {
            "请求内容不是有效的 JSON：请检查格式"
        };
        BodyError(format!("{problem}（第 {line} 行第 {column} 列）"))
    })
}

fn json_value(label: &str, kind: FieldKind, value: &serde_json::Value) -> Result<Value, BodyError> {
    use serde_json::Value as J;
    match value {
        J::String(s) => Ok(Value::One(s.clone())),
        J::Null => Ok(Value::One(String::new())),
        J::Array(items) if kind == FieldKind::Checkboxes => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| BodyError(format!("“{label}”的每个选项应是字符串")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Many),
        J::Number(n) if matches!(kind, FieldKind::Integer | FieldKind::MoneyYuan) => {
            if let Some(i) = n.as_i64() {
                Ok(Value::One(i.to_string()))
            } else if let Some(u) = n.as_u64() {
                Ok(Value::One(u.to_string()))
            } else {
                Err(BodyError(format!(
                    "“{label}”应是整数，请去掉小数部分，或把数字写成带引号的字符串"
                )))
            }
        }
        J::Number(_) => Err(BodyError(format!(
            "“{label}”请用带引号的字符串提交：数字形式会丢失前导零或末尾的位数"
        ))),
        _ => Err(BodyError(format!("“{label}”的值类型不对：请提交字符串"))),
    }
}
